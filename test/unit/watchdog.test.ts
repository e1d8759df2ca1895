/** The local stack's watchdog, on real processes: what it was told of is stopped when its pipe closes. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'

const watchdogFile = join(import.meta.dirname, '..', '..', 'scripts', 'local-stack', 'watchdog.ts')
const started: ChildProcess[] = []
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL')
})

function sleeper(kind: 'process' | 'group' = 'process'): ChildProcess {
  const child =
    kind === 'process'
      ? spawn('sleep', ['600'], { stdio: 'ignore' })
      : // A group whose leader has a child of its own, like Elasticsearch's launcher and its JVM.
        spawn('bash', ['-c', 'sleep 600 & wait'], { stdio: 'ignore', detached: true })
  started.push(child)
  return child
}

const alive = (target: number) => {
  try {
    process.kill(target, 0)
    return true
  } catch {
    return false
  }
}

test('when the supervisor is gone, it stops every process and group it was told of, and only those', async () => {
  const watchdog = spawn(process.execPath, [watchdogFile], { stdio: ['pipe', 'ignore', 'pipe'] })
  started.push(watchdog)
  let log = ''
  watchdog.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk
  })
  const [process1, group, forgotten] = [sleeper(), sleeper('group'), sleeper()]
  const process1Ended = once(process1, 'exit')
  await Promise.all([process1, group, forgotten].map((child) => once(child, 'spawn')))
  watchdog.stdin?.write(`watch ${process1.pid} process\n`)
  watchdog.stdin?.write(`watch ${group.pid} group\n`)
  watchdog.stdin?.write(`watch ${forgotten.pid} process\nforget ${forgotten.pid}\n`)
  // The supervisor's end of the pipe closing, however it died.
  watchdog.stdin?.end()

  const [code] = await once(watchdog, 'exit')
  expect(code).toBe(0)
  expect(log).toMatch(new RegExp(`stopping ${process1.pid}, ${group.pid}\\n`))
  await process1Ended
  expect(alive(-(group.pid as number))).toBe(false)
  expect(alive(forgotten.pid as number)).toBe(true)
})
