/**
 * The local stack's processes and ports: commands and app processes through execa, free ports from
 * get-port. What those leave to this file: the daemons (Kafka, Elasticsearch) and the watchdog
 * are spawned by Node itself, writing straight to their log files (execa pipes a file target
 * through this process, which a CLI's stack outlives); process groups (Elasticsearch's launcher
 * forks the server JVM, and a signal must reach both); pid files (the next start or `stop` finds
 * a stack a CLI left running by them); the watchdog (no kept package stops children when their
 * parent is SIGKILLed: execa's `cleanup` runs only when the parent exits by itself).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, fstatSync, mkdirSync, openSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { dirname, join } from 'node:path'
import { execa } from 'execa'
import getPort from 'get-port'
import { poll } from '../../runtime/wait.ts'

export type Log = (line: string) => void

// --- The watchdog: stops what this process started when it dies without doing so itself.

let watchdog: ChildProcess | undefined

/**
 * Starts the watchdog (watchdog.ts, its output appended to `logFile`): from then on every
 * process started here is reported to it, so none outlives this one, however this one ends.
 */
export function startWatchdog(logFile: string): void {
  mkdirSync(dirname(logFile), { recursive: true })
  const fd = openSync(logFile, 'a')
  const child = spawn(process.execPath, [join(import.meta.dirname, 'watchdog.ts')], {
    detached: true,
    stdio: ['pipe', 'ignore', fd],
  })
  closeSync(fd)
  // Neither keeps this process alive; a watchdog that died just has nobody to tell.
  child.unref()
  ;(child.stdin as Socket).unref()
  child.stdin?.on('error', () => {})
  watchdog = child
}

function tellWatchdog(line: string): void {
  watchdog?.stdin?.write(`${line}\n`)
}

/** Reports a started subprocess to the watchdog, if one runs, until it exits. */
export function watched<T extends { pid?: number | undefined } & PromiseLike<unknown>>(
  subprocess: T,
): T {
  const { pid } = subprocess
  if (pid !== undefined) {
    tellWatchdog(`watch ${pid} process`)
    subprocess.then(() => tellWatchdog(`forget ${pid}`))
  }
  return subprocess
}

/** Runs a command to completion; its output goes to `logFile`, whose tail is in the error. */
export async function run(
  command: string,
  args: string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<void> {
  const log = { file: opts.logFile, append: true }
  const subprocess = execa(command, args, {
    stdin: 'ignore',
    stdout: log,
    stderr: log,
    env: opts.env ?? process.env,
    extendEnv: false,
    cwd: opts.cwd,
    reject: false,
  })
  const result = await watched(subprocess)
  if (result.failed) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.shortMessage}); last lines of ${opts.logFile}:\n${await tail(opts.logFile)}`,
    )
  }
}

export async function tail(file: string, lines = 40): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return `(no ${file})`
  }
}

export interface Daemon {
  pid: number
  exited: Promise<number | null>
  /** Aborted once it exited, with the exit code as the reason: ends a wait for it to be ready. */
  ended: AbortSignal
  /** What this run has written to its log file (which is appended to across runs). */
  output(): Promise<string>
  stop(): Promise<void>
}

/**
 * Starts a long-running process in its own process group (Elasticsearch's launcher forks the
 * server JVM; signalling the group reaches both), output appended to `logFile`, pid in `pidFile`.
 * It is unref'd so a CLI can exit and leave it running; the pid file lets the next start clean up.
 */
export async function startDaemon(
  command: string,
  args: string[],
  opts: { logFile: string; pidFile: string; env: NodeJS.ProcessEnv; cwd?: string },
): Promise<Daemon> {
  const fd = openSync(opts.logFile, 'a')
  const offset = fstatSync(fd).size
  const child = spawn(command, args, {
    stdio: ['ignore', fd, fd],
    env: opts.env,
    cwd: opts.cwd,
    detached: true,
  })
  closeSync(fd)
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', reject)
    child.once('spawn', () => resolve(child.pid as number))
  })
  child.unref()
  // Its whole group, until stop() saw every member exit (Elasticsearch's launcher forks the JVM).
  tellWatchdog(`watch ${pid} group`)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  const ended = new AbortController()
  void exited.then((code) => ended.abort(code))
  await writeFile(opts.pidFile, `${pid}\n`)
  let stopping: Promise<void> | undefined
  return {
    pid,
    exited,
    ended: ended.signal,
    output: async () => (await readFile(opts.logFile)).subarray(offset).toString('utf8'),
    stop: () => {
      stopping ??= stopGroup(pid).then(() => {
        tellWatchdog(`forget ${pid}`)
        return rm(opts.pidFile, { force: true })
      })
      return stopping
    },
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    // already gone
  }
}

/** SIGTERM the process group, wait for every member to exit, SIGKILL after `timeoutMs`. */
export async function stopGroup(pgid: number, timeoutMs = 30_000): Promise<void> {
  const gone = () => (groupAlive(pgid) ? undefined : true)
  signalGroup(pgid, 'SIGTERM')
  await poll(gone, { signal: AbortSignal.timeout(timeoutMs), intervalMs: 200 }).catch(() => {
    signalGroup(pgid, 'SIGKILL')
    return poll(gone, { signal: AbortSignal.timeout(timeoutMs), intervalMs: 200 })
  })
}

/**
 * Stops a process a previous stack left behind in this dataDir (its parent may have died).
 * The pid must still lead a process group whose command line names `marker`, so a reused pid
 * belonging to something else is never touched.
 */
export async function stopStale(pidFile: string, marker: string, log: Log): Promise<void> {
  let pid: number
  try {
    pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10)
  } catch {
    return
  }
  if (Number.isInteger(pid) && pid > 1 && groupAlive(pid)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes(marker)) {
      log(`stopping process ${pid} left running by a previous stack (${pidFile})`)
      await stopGroup(pid)
    }
  }
  await rm(pidFile, { force: true })
}

function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host })
    socket.setTimeout(1000)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/** A port nothing listens on right now (get-port also holds it back from its next callers a while). */
export function freePort(): Promise<number> {
  return getPort({ host: '127.0.0.1' })
}

/**
 * Fails when anything answers on the port. Not get-port's check: it holds back what it found for
 * a while, and a process restarted on its fixed port must find that port free again at once.
 */
export async function assertPortFree(port: number, what: string): Promise<void> {
  if (await portOpen(port)) {
    throw new Error(`port ${port} (${what}) is already in use on 127.0.0.1; pick another port`)
  }
}
