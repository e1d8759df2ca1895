import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, expect, test, vi } from 'vitest'
import { keepAlive } from '../../scripts/local-stack/liveness.ts'

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
  await vi.waitFor(() => expect(replaced).toHaveLength(1))
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
