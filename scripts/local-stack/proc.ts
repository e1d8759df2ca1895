import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, fstatSync, mkdirSync, openSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

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

/** Reports a started process to the watchdog, if one runs, until it exits. */
export function watched<T extends ChildProcess>(child: T): T {
  child.once('spawn', () => {
    tellWatchdog(`watch ${child.pid} process`)
    child.once('exit', () => tellWatchdog(`forget ${child.pid}`))
  })
  return child
}

/** Runs a command to completion; its output goes to `logFile`, whose tail is in the error. */
export async function run(
  command: string,
  args: string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<void> {
  const fd = openSync(opts.logFile, 'a')
  try {
    const child = watched(
      spawn(command, args, {
        stdio: ['ignore', fd, fd],
        env: opts.env ?? process.env,
        cwd: opts.cwd,
      }),
    )
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject)
      child.on('exit', (c, signal) => resolve(signal ? null : c))
    })
    if (code !== 0) {
      throw new Error(
        `${command} ${args.join(' ')} failed (exit ${code}); last lines of ${opts.logFile}:\n${await tail(opts.logFile)}`,
      )
    }
  } finally {
    closeSync(fd)
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
  await writeFile(opts.pidFile, `${pid}\n`)
  let stopping: Promise<void> | undefined
  return {
    pid,
    exited,
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
  signalGroup(pgid, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) signalGroup(pgid, 'SIGKILL')
    await sleep(200)
  }
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

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
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

/** A port nothing listens on right now, from the OS. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  return port
}

export async function assertPortFree(port: number, what: string): Promise<void> {
  if (await portOpen(port)) {
    throw new Error(`port ${port} (${what}) is already in use on 127.0.0.1; pick another port`)
  }
}
