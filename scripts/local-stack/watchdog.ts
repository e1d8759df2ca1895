/**
 * The local stack's watchdog, a process of its own (its own session: a terminal's Ctrl-C or
 * hang-up does not reach it). The supervisor (`npm start`) tells it, over a pipe on its stdin,
 * each process it starts and each that ended. When the pipe closes the supervisor is gone,
 * however it ended (a crash, SIGKILL): the watchdog stops whatever it was told of that still
 * runs, SIGTERM then SIGKILL after a grace period, and exits. Plain Node, no imports of the
 * project: it must start in a blink and cannot fail to load. Ours because no kept package does
 * this: execa's `cleanup` (signal-exit) runs only when the parent exits by itself, never after a
 * SIGKILL, and Linux's parent-death signal is not reachable from Node.
 *
 * Lines on stdin: `watch <pid> group|process` (a group: the pid leads a process group, signalled
 * whole) and `forget <pid>`.
 */
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'

const graceMs = 30_000

interface Watched {
  pid: number
  group: boolean
  /** Its start time: a pid the kernel gave to another process since is left alone. */
  started: string
}

const watched = new Map<number, Watched>()
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`)

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

function signal(target: number, name: NodeJS.Signals | 0): boolean {
  try {
    process.kill(target, name)
    return true
  } catch {
    return false
  }
}

/** Still running: the very process (same start time), or, for a group, any member. */
function running({ pid, group, started }: Watched): boolean {
  const now = startTime(pid)
  if (now !== undefined && now !== started) return false
  return group ? signal(-pid, 0) : now !== undefined
}

async function stopAll(): Promise<never> {
  let left = [...watched.values()].filter(running)
  if (left.length > 0) {
    log(`the supervisor is gone: stopping ${left.map(({ pid }) => pid).join(', ')}`)
    for (const { pid, group } of left) signal(group ? -pid : pid, 'SIGTERM')
    const deadline = Date.now() + graceMs
    for (; left.length > 0; left = left.filter(running)) {
      if (Date.now() > deadline) {
        for (const { pid, group } of left) signal(group ? -pid : pid, 'SIGKILL')
      }
      await sleep(200)
    }
    log('everything it started is stopped')
  }
  process.exit(0)
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const [verb, pidText, kind] = line.split(' ')
    const pid = Number(pidText)
    if (!Number.isInteger(pid) || pid <= 1) return
    if (verb === 'forget') watched.delete(pid)
    const started = verb === 'watch' ? startTime(pid) : undefined
    if (started !== undefined) watched.set(pid, { pid, group: kind === 'group', started })
  })
  .on('close', () => void stopAll())
