/**
 * The fault suite's remote control. The stack, its Kafka nodes, the proxies and the app processes
 * live in the global setup's process; the tests run in a worker. This loopback HTTP server (in
 * the global setup) and `faultControl` (in the tests) carry the few faults across.
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import type { AppProcess, Harness, ProcessSpec } from '../../scripts/local-stack/harness.ts'
import { keepAlive } from '../../scripts/local-stack/liveness.ts'
import type { Log } from '../../scripts/local-stack/proc.ts'
import type { RunningStack } from '../../scripts/local-stack/stack.ts'
import type { TcpProxy } from '../support/tcp-proxy.ts'

/**
 * The suite's ports from a checkout's port base: all within base + 310 .. base + 460, clear of
 * the integration stack's (base + 92, + 93, + 200, + 300) and the chart tests' (base + 500).
 */
export function faultPorts(base: number) {
  return {
    base,
    /** Node n (from 0): client base + 310 + 3n, controller + 1, behind its proxy + 2. */
    kafka: base + 310,
    proxies: [base + 320, base + 321, base + 322],
    api: base + 330,
    consumer: base + 331,
    /** Further app processes a scenario starts (a second consumer): + 332 to + 339. */
    extraApps: base + 332,
    control: base + 340,
    /** Its transport listens 100 above. */
    elasticsearch: base + 360,
  }
}

export type NodeAction = 'kill' | 'restart' | 'freeze' | 'thaw'
export type ProxyAction = 'delay-produce' | 'restore'
export type AppAction = 'start' | 'stop' | 'kill'
export type StoreAction = 'stop' | 'start' | 'freeze' | 'thaw'

interface ControlOptions {
  harness: Harness
  stack: RunningStack
  proxies: TcpProxy[]
  /** The app processes the suite starts with, by name; `start` starts one again. */
  apps: Record<string, ProcessSpec>
  port: number
  log: Log
}

export async function startControlServer(options: ControlOptions) {
  const { harness, stack, proxies, log } = options
  /** The apps that should run (a test's stop or kill takes one out), and those that do. */
  const wanted = new Map<string, ProcessSpec>()
  const running = new Map<string, AppProcess>()
  const startApp = async (name: string, spec: ProcessSpec) => {
    wanted.set(name, spec)
    running.set(name, await harness.start({ ...spec, name }))
  }
  for (const [name, spec] of Object.entries(options.apps)) await startApp(name, spec)

  // The kubelet's restarts on a failing liveness probe: without them a scenario would test a
  // restart policy the chart does not have.
  const kubelet = keepAlive({
    watched: () => [...wanted.keys()].map((name) => [name, running.get(name)?.url] as const),
    replace: async (name, url) => {
      const spec = wanted.get(name)
      const app = running.get(name)
      if (!spec || app?.url !== url) return
      running.delete(name)
      await app?.stop()
      await startApp(name, spec)
    },
    log,
  })

  const app = new Hono()
  app.post('/kafka/:id/:action', async (c) => {
    const node = stack.kafka.nodes.find((n) => n.id === Number(c.req.param('id')))
    const action = c.req.param('action') as NodeAction
    if (!node || !['kill', 'restart', 'freeze', 'thaw'].includes(action)) return c.notFound()
    log(`Kafka node ${node.id}: ${action}`)
    await node[action]()
    return c.json({ done: action })
  })
  app.post('/elasticsearch/:action', async (c) => {
    const action = c.req.param('action') as StoreAction
    if (!['stop', 'start', 'freeze', 'thaw'].includes(action)) return c.notFound()
    log(`Elasticsearch: ${action}`)
    if (action !== 'start') {
      await stack.elasticsearch.process[action]()
      return c.json({ done: action })
    }
    // Starting can outlast an HTTP client's patience on a busy machine: the test waits for the
    // consumer to be ready again instead.
    stack.elasticsearch.process
      .start()
      .then(() => log('Elasticsearch: healthy again'))
      .catch((error: unknown) => log(`Elasticsearch did not start again: ${error}`))
    return c.json({ done: 'starting' })
  })
  app.post('/proxy/:id/:action', (c) => {
    const proxy = proxies[Number(c.req.param('id')) - 1]
    const action = c.req.param('action') as ProxyAction
    if (!proxy) return c.notFound()
    log(`proxy of Kafka node ${c.req.param('id')}: ${action}`)
    if (action === 'delay-produce') proxy.delayProduceResponses(Number(c.req.query('ms')))
    else if (action === 'restore') proxy.restore()
    else return c.notFound()
    return c.json({ delayedProduceResponses: proxy.delayedProduceResponses })
  })
  app.post('/apps/:name/:action', async (c) => {
    const name = c.req.param('name')
    const action = c.req.param('action') as AppAction
    log(`${name}: ${action}`)
    if (action === 'start') {
      const spec = options.apps[name] ?? ((await c.req.json()) as ProcessSpec)
      await startApp(name, spec)
      return c.json({ url: running.get(name)?.url })
    }
    const process = running.get(name)
    if (!process || !['stop', 'kill'].includes(action)) return c.notFound()
    wanted.delete(name)
    running.delete(name)
    return c.json({ code: await process[action as 'stop' | 'kill']() })
  })

  const server = serve({ fetch: app.fetch, port: options.port, hostname: '127.0.0.1' })
  await new Promise<void>((listening) => server.once('listening', listening))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await kubelet.stop()
      await new Promise<void>((closed) => server.close(() => closed()))
    },
  }
}

/** The tests' side: each call returns once the fault is in place (a node restarted: started). */
export function faultControl(controlUrl: string) {
  const call = async (path: string, body?: unknown) => {
    const response = await fetch(`${controlUrl}${path}`, {
      method: 'POST',
      ...(body !== undefined && {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    })
    if (!response.ok) throw new Error(`fault control ${path}: ${response.status}`)
    return (await response.json()) as Record<string, unknown>
  }
  return {
    kafka: (id: number, action: NodeAction) => call(`/kafka/${id}/${action}`),
    delayProduceResponses: (id: number, ms: number) => call(`/proxy/${id}/delay-produce?ms=${ms}`),
    restoreProxy: (id: number) => call(`/proxy/${id}/restore`),
    /** `start` returns at once; the store is healthy again some time later. */
    elasticsearch: (action: StoreAction) => call(`/elasticsearch/${action}`),
    /** `start` takes a spec for a process the suite did not start with (a second consumer). */
    app: (name: string, action: AppAction, spec?: ProcessSpec) =>
      call(`/apps/${name}/${action}`, spec),
  }
}
