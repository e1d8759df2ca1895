/** The app as a separate process, started the way scripts/start.ts (and the chart) runs it. */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { tail } from '../scripts/local-stack/proc.ts'

// kafkajs 2.2.4 sets a negative timer once per process on current Node: harmless, but noise.
const quietNode = [
  '--disable-warning=TimeoutNegativeWarning',
  '--disable-warning=ExperimentalWarning',
]
const killAfterMs = 30_000

export interface AppProcess {
  url: string
  logFile: string
  /** SIGTERM, then SIGKILL if it has not exited within 30 s; safe to call more than once. */
  stop(): Promise<void>
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((done) => child.once('exit', () => done()))
}

/** Spawns `entry` (the app by default) with `env` (ROLE, PORT, ...); resolves once /readyz is 200. */
export async function startApp(
  env: Record<string, string>,
  port: number,
  logFile: string,
  register: (stop: () => Promise<void>) => void,
  entry = 'runtime/main.ts',
): Promise<AppProcess> {
  const fd = openSync(logFile, 'w')
  const child = spawn(process.execPath, [...quietNode, '--import', 'tsx', entry], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', fd, fd],
  })
  closeSync(fd)
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
      await exited(child)
      clearTimeout(timer)
    })()
    return stopping
  }
  register(stop)

  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 90_000
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `${env.ROLE ?? entry} process exited (${child.exitCode}); ${logFile}:\n${await tail(logFile)}`,
      )
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(
        `${env.ROLE ?? entry} process not ready within 90 s; ${logFile}:\n${await tail(logFile)}`,
      )
    }
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    )
    if (ready) return { url, logFile, stop }
    await sleep(250)
  }
}
