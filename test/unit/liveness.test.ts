import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test, vi } from 'vitest'
import {
  keepAlive,
  kubeletBackOff,
  nextBackOff,
  supervise,
} from '../../scripts/local-stack/liveness.ts'

// The chart's probe, a hundred times faster.
const probe = { periodMs: 100, timeoutMs: 500, failureThreshold: 3 }
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

/** A process's /healthz that answers `status` (or the script's status for the nth probe), counting the probes. */
async function healthz(script: number[] = []) {
  const state = { status: 200, probes: 0 }
  const server = createServer((request, response) => {
    if (request.url === '/healthz') state.probes++
    response.writeHead(script[state.probes - 1] ?? state.status).end()
  })
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  cleanup.push(() => new Promise((closed) => server.close(() => closed())))
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  })
}

async function watch(apps: Map<string, string | undefined>) {
  const replaced: [string, string | undefined][] = []
  const successor = await healthz()
  const keeper = keepAlive({
    watched: () => apps,
    replace: async (name, url) => {
      replaced.push([name, url])
      apps.set(name, successor.url)
    },
    log: () => {},
    probe,
  })
  cleanup.push(() => keeper.stop())
  return { replaced, keeper }
}

test('a process whose /healthz fails the threshold of probes in a row is replaced, once', async () => {
  const api = await healthz()
  const consumer = await healthz()
  const { replaced } = await watch(
    new Map([
      ['API', api.url],
      ['consumer', consumer.url],
    ]),
  )
  await vi.waitFor(() => expect(consumer.probes).toBeGreaterThanOrEqual(2))
  expect(replaced).toEqual([])

  consumer.status = 503
  const healthyProbes = consumer.probes
  await vi.waitFor(() => expect(replaced).toEqual([['consumer', consumer.url]]))
  expect(consumer.probes - healthyProbes).toBe(probe.failureThreshold)
  // The healthy API was probed all along and left alone.
  expect(api.probes).toBeGreaterThanOrEqual(consumer.probes)
})

test('a failure between successes starts the count again', async () => {
  const app = await healthz([503, 503, 200, 503, 503, 200, 503, 503, 503])
  const { replaced } = await watch(new Map([['consumer', app.url]]))
  // Nine probes: about a second, more on a busy machine.
  await vi.waitFor(() => expect(replaced).toHaveLength(1), { timeout: 10_000 })
  expect(app.probes).toBe(9)
})

test('a process that is down (no URL) is started again; stop() returns once the probes ended', async () => {
  const app = await healthz()
  const apps = new Map<string, string | undefined>([
    ['API', app.url],
    ['consumer', undefined],
  ])
  const { replaced, keeper } = await watch(apps)
  await vi.waitFor(() => expect(replaced).toEqual([['consumer', undefined]]))
  await keeper.stop() // resolves only when the probing loop has returned
  expect(replaced).toHaveLength(1)
})

test("the back-off is the kubelet's: 10 s, doubled on each restart up to 5 min, and 10 s again after 10 min of running", () => {
  const waits: number[] = []
  for (let previous: number | undefined, i = 0; i < 7; i++) {
    previous = nextBackOff(previous, 1_000, kubeletBackOff)
    waits.push(previous / 1000)
  }
  expect(waits).toEqual([10, 20, 40, 80, 160, 300, 300])
  expect(nextBackOff(300_000, 600_000, kubeletBackOff)).toBe(10_000)
  expect(nextBackOff(300_000, 599_999, kubeletBackOff)).toBe(300_000)
})

describe('supervise', () => {
  const backOff = { initialMs: 50, maxMs: 200, resetAfterMs: 60_000 }

  async function supervised() {
    const api = await healthz()
    const consumer = await healthz()
    const lines: string[] = []
    const starts: { name: string; at: number }[] = []
    const stopped: string[] = []
    const app = (name: string, url: string) => ({
      url,
      stop: async () => {
        stopped.push(name)
      },
    })
    const supervisor = supervise({
      processes: new Map([
        ['API', app('API', api.url)],
        ['consumer', app('consumer', consumer.url)],
      ]),
      start: async (name) => {
        starts.push({ name, at: performance.now() })
        return app(name, name === 'API' ? api.url : consumer.url)
      },
      log: (line) => lines.push(line),
      probe,
      backOff,
    })
    cleanup.push(() => supervisor.stop())
    return { supervisor, lines, starts, stopped, consumer }
  }

  test('a process that exited is started again after the back-off, doubled when it ends again soon, and counted; the others are left alone', async () => {
    const { supervisor, lines, starts, stopped } = await supervised()
    const exited = performance.now()
    supervisor.exited('consumer', 'SIGKILL')
    await vi.waitFor(() => expect(starts).toHaveLength(1))
    expect((starts[0]?.at ?? 0) - exited).toBeGreaterThanOrEqual(backOff.initialMs - 1)
    supervisor.exited('consumer', 1)
    await vi.waitFor(() => expect(starts).toHaveLength(2))
    expect(starts.map(({ name }) => name)).toEqual(['consumer', 'consumer'])
    expect(stopped).toEqual([])
    expect(supervisor.restarts()).toEqual(
      new Map([
        ['API', 0],
        ['consumer', 2],
      ]),
    )
    expect(lines.filter((line) => line.includes('restart'))).toEqual([
      "the consumer process exited (SIGKILL); restart 1 in 0.05 s (back-off, as the kubelet's)",
      'the consumer process is running again (restart 1)',
      "the consumer process exited (1); restart 2 in 0.1 s (back-off, as the kubelet's)",
      'the consumer process is running again (restart 2)',
    ])
  })

  test('one that fails its liveness probe is stopped and restarted the same way', async () => {
    const { supervisor, starts, stopped, consumer } = await supervised()
    consumer.status = 503
    await vi.waitFor(() => expect(starts.map(({ name }) => name)).toEqual(['consumer']), {
      timeout: 10_000,
    })
    expect(stopped).toEqual(['consumer'])
    consumer.status = 200
    expect(supervisor.restarts().get('consumer')).toBe(1)
  })

  test('stop() ends a restart still waiting for its back-off', async () => {
    const { supervisor, starts, lines } = await supervised()
    supervisor.exited('API', 0)
    await supervisor.stop()
    supervisor.exited('consumer', 0)
    expect(starts).toEqual([])
    expect(lines).toEqual([
      "the API process exited (0); restart 1 in 0.05 s (back-off, as the kubelet's)",
    ])
  })
})
