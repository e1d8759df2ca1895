/**
 * `npm start` restarts a process that ends as the kubelet does, and its processes never outlive
 * it, however it ends: Ctrl-C (also while it starts), its
 * output pipe closing, SIGHUP, SIGTERM, SIGKILL. Each test runs the supervisor (scripts/start.ts,
 * what `npm start` runs) in a process group of its own, as a terminal does, on ports and a dataDir
 * of this file's own, ends it one way and waits until every process it started is gone. Each
 * ends it once Kafka and Elasticsearch are launched, before they are ready: the stack can be
 * left behind from then on, and that comes minutes sooner than a whole start on a busy machine.
 * (The app processes it starts later are reported to the same watchdog: test/unit/watchdog.test.ts.)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { cacheDir } from '../../scripts/local-stack/fetch.ts'
import { purchaseBody } from '../support/purchases.ts'

const repoRoot = join(import.meta.dirname, '..', '..')
const portBase = Number(process.env.ICECREAM_TEST_PORT_BASE || 29_000)
// Apart from the test stack's ports (base + 92, + 93, + 200, + 300).
const supervisorEnv = {
  API_PORT: String(portBase + 400),
  CONSUMER_PORT: String(portBase + 401),
  KAFKA_PORT: String(portBase + 492),
  ELASTICSEARCH_PORT: String(portBase + 600),
  LOCAL_STACK_DIR: join(cacheDir(), `start-test-${portBase}`),
}
/** A whole start under load: Elasticsearch alone may take minutes on a busy machine. */
const startPatience = { timeout: 540_000, interval: 500 }
const stopPatience = { timeout: 120_000, interval: 500 }

interface ProcessInfo {
  pid: number
  command: string
  /** Field 22 of /proc/<pid>/stat: tells the process from a later one given the same pid. */
  started: string
}

/** Each process's parent, command and start time, from /proc. */
function processTable(): (ProcessInfo & { parent: number; zombie: boolean })[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ')
        return [
          {
            pid: Number(name),
            parent: Number(fields[1]),
            zombie: fields[0] === 'Z',
            started: fields[19] ?? '',
            command,
          },
        ]
      } catch {
        return [] // exited while being read
      }
    })
}

/** The process and everything below it: what the supervisor started, detached or not. */
function descendants(root: number): ProcessInfo[] {
  const table = processTable()
  const found = table.filter((entry) => entry.pid === root)
  for (let i = 0; i < found.length; i++) {
    found.push(...table.filter((entry) => entry.parent === found[i]?.pid))
  }
  return found.map(({ pid, command, started }) => ({ pid, command, started }))
}

/** Those of `processes` that still run (a zombie has ended). */
function stillRunning(processes: ProcessInfo[]): ProcessInfo[] {
  const table = processTable()
  return processes.filter((process) =>
    table.some(
      (entry) => entry.pid === process.pid && entry.started === process.started && !entry.zombie,
    ),
  )
}

interface Supervisor {
  child: ChildProcess
  /** What it printed so far (its progress lines are on stderr). */
  output(): string
  /** Waits until it printed a line matching `pattern`. */
  printed(pattern: RegExp, patience?: { timeout: number; interval: number }): Promise<void>
  /** Sends a signal to its process group, as a terminal does (Ctrl-C, a hang-up). */
  signalGroup(signal: NodeJS.Signals): void
}

const supervisors: Supervisor[] = []
afterEach(async () => {
  // A failed test must not leave its stack behind for the next.
  for (const { child } of supervisors.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
})

function startSupervisor(env: Record<string, string> = {}): Supervisor {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: repoRoot,
    env: { ...process.env, ...supervisorEnv, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let text = ''
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk
    })
  }
  const supervisor: Supervisor = {
    child,
    output: () => text,
    printed: async (pattern, patience = startPatience) => {
      // Its exit ends the wait at once.
      const exited = new Promise<never>((_, reject) => {
        const fail = () => reject(new Error(`the supervisor exited:\n${text}`))
        if (child.exitCode !== null || child.signalCode !== null) fail()
        else child.once('exit', fail)
      })
      await Promise.race([vi.waitFor(() => expect(text).toMatch(pattern), patience), exited])
    },
    signalGroup: (signal) => process.kill(-(child.pid as number), signal),
  }
  supervisors.push(supervisor)
  return supervisor
}

/**
 * The stack's processes, by the paths on their command lines (also what forked late): the
 * dataDir, and where Elasticsearch's copy lives (`<dataDir>/elasticsearch` may link elsewhere).
 */
function stackProcesses(): ProcessInfo[] {
  const dataDir = supervisorEnv.LOCAL_STACK_DIR
  const paths = [dataDir, realpathSync(join(dataDir, 'elasticsearch'))]
  return processTable().filter(
    (entry) => !entry.zombie && paths.some((path) => entry.command.includes(path)),
  )
}

/**
 * Once Kafka and Elasticsearch are launched (their pid files name two of the supervisor's
 * descendants), ends the supervisor with `end`, then waits until it and everything it started
 * are gone.
 */
async function endAndExpectNothingLeft(supervisor: Supervisor, end: () => void): Promise<void> {
  const launched = vi.waitFor(() => {
    const found = descendants(supervisor.child.pid as number)
    for (const daemon of ['kafka', 'elasticsearch']) {
      const pidFile = join(supervisorEnv.LOCAL_STACK_DIR, 'run', `${daemon}.pid`)
      expect(found.map(({ pid }) => pid)).toContain(Number(readFileSync(pidFile, 'utf8')))
    }
    return found
  }, startPatience)
  // A supervisor that gave up (a daemon that failed to start) ends the wait with its output.
  const gaveUp = new Promise<never>((_, reject) =>
    supervisor.child.once('exit', () =>
      reject(new Error(`the supervisor exited first:\n${supervisor.output()}`)),
    ),
  )
  for (const settled of [launched, gaveUp]) settled.catch(() => {})
  const started = await Promise.race([launched, gaveUp])
  end()
  await vi.waitFor(() => {
    expect(stillRunning(started)).toEqual([])
    expect(stackProcesses()).toEqual([])
  }, stopPatience)
}

const stackLaunched = /starting Elasticsearch/

describe('npm start leaves nothing running', () => {
  test('while it starts: a second start refuses its live stack, then SIGKILL of the supervisor', async () => {
    const supervisor = startSupervisor()
    await supervisor.printed(stackLaunched)

    const second = startSupervisor()
    await vi.waitFor(() => expect(second.child.exitCode).toBe(1), startPatience)
    expect(second.output()).toMatch(/is in use by process \d+/)

    // The watchdog notices the supervisor is gone and stops everything it was told of.
    await endAndExpectNothingLeft(supervisor, () => supervisor.child.kill('SIGKILL'))
  }, 900_000)

  test.each([
    ['Ctrl-C', 'SIGINT'],
    ['SIGHUP (its terminal closed)', 'SIGHUP'],
    ['SIGTERM', 'SIGTERM'],
  ] as const)(
    'while it starts: %s',
    async (_, signal) => {
      const supervisor = startSupervisor()
      await supervisor.printed(stackLaunched)
      await endAndExpectNothingLeft(supervisor, () => supervisor.signalGroup(signal))
      expect(supervisor.output()).toMatch(new RegExp(`${signal}: stopping everything`))
    },
    300_000,
  )

  test('while it starts: its output pipe closes, then Ctrl-C (`npm start | tee log`)', async () => {
    const supervisor = startSupervisor()
    await supervisor.printed(stackLaunched)
    await endAndExpectNothingLeft(supervisor, () => {
      supervisor.child.stdout?.destroy()
      supervisor.child.stderr?.destroy()
      supervisor.signalGroup('SIGINT')
    })
  }, 600_000)
})

/** The app process of this role among the supervisor's descendants (its environment says which). */
function appProcess(supervisor: Supervisor, role: 'api' | 'consumer'): ProcessInfo {
  const found = descendants(supervisor.child.pid as number).find(
    ({ pid, command }) =>
      command.includes('runtime/main.ts') &&
      readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`ROLE=${role}`),
  )
  if (!found) throw new Error(`no ${role} process under the supervisor`)
  return found
}

describe('npm start restarts a process that ends, as the kubelet does', () => {
  test('SIGKILL of the consumer: the API answers 202 meanwhile, the consumer comes back after its back-off (restart 1) and stores what waited', async () => {
    const backOffSeconds = 6
    const supervisor = startSupervisor({ RESTART_BACK_OFF_MS: String(backOffSeconds * 1000) })
    await supervisor.printed(/Ready in \d+ s/)
    const api = `http://127.0.0.1:${supervisorEnv.API_PORT}`
    // The API, Kafka and Elasticsearch (not the app processes' helpers: the killed consumer's
    // esbuild service ends with it).
    const others = [appProcess(supervisor, 'api'), ...stackProcesses()]

    const killed = performance.now()
    process.kill(appProcess(supervisor, 'consumer').pid, 'SIGKILL')
    await supervisor.printed(
      new RegExp(`the consumer process exited \\(SIGKILL\\); restart 1 in ${backOffSeconds} s`),
    )
    const shop = purchaseBody().shop_id
    const waiting = Array.from({ length: 20 }, () => purchaseBody({ shop_id: shop }))
    const answers = await Promise.all(
      waiting.map((purchase) =>
        fetch(`${api}/purchases`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(purchase),
        }).then((response) => response.status),
      ),
    )
    expect(answers).toEqual(waiting.map(() => 202))
    // All of them were accepted while no consumer ran.
    expect(supervisor.output()).not.toMatch(/the consumer process is running again/)

    await supervisor.printed(/the consumer process is running again \(restart 1\)/)
    const downSeconds = (performance.now() - killed) / 1000
    // Nothing else was restarted or stopped meanwhile.
    expect(stillRunning(others)).toEqual(others)
    expect(supervisor.output()).not.toMatch(/the API process exited|stopping everything/)
    await expect
      .poll(
        async () => {
          const response = await fetch(`${api}/purchases/${shop}?date=2021-12-30&limit=100`)
          const page = (await response.json()) as { purchases: { purchase_id: string }[] }
          return page.purchases.map(({ purchase_id }) => purchase_id).sort()
        },
        { timeout: 120_000, interval: 500 },
      )
      .toEqual(waiting.map(({ purchase_id }) => purchase_id).sort())
    console.log(
      `SIGKILL of the consumer: ${waiting.length} purchases posted while it was down (all 202), ` +
        `back-off ${backOffSeconds} s, running again ${downSeconds.toFixed(1)} s after the kill, ` +
        `all ${waiting.length} stored and searchable ${((performance.now() - killed) / 1000).toFixed(1)} s after it`,
    )

    // Ctrl-C still stops everything, the restarted consumer too.
    const started = descendants(supervisor.child.pid as number)
    supervisor.signalGroup('SIGINT')
    await vi.waitFor(() => {
      expect(stillRunning(started)).toEqual([])
      expect(stackProcesses()).toEqual([])
    }, stopPatience)
  }, 900_000)
})
