/**
 * The live page as one feature: everything it adds to a process, registered here. On an API:
 * the queue view, the canary and the load generator, its routes (the page's with LIVE_PAGE, the
 * controls with DEMO_CONTROLS), the stream and the page's assets. On a consumer: the consumer
 * commands' subscriber, and with DEMO_CONTROLS its own pause and resume routes.
 */
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { RouteDefinition, RouteRequest } from '../../handlers/define.ts'
import type { Config } from '../../runtime/config.ts'
import { defineFeature, type FeatureHost } from '../../runtime/feature.ts'
import { mountRoutes } from '../../runtime/http/app.ts'
import { loadSubscribers } from '../../runtime/load-handlers.ts'
import type { LivePorts } from '../ports.ts'
import { consumerControlRoutes, createConsumerControl } from './consumer-control.ts'
import { createDemo } from './demo.ts'
import { liveAssetsDir, livePageRoutes } from './page-routes.ts'
import { createQueueView } from './queue-view.ts'

/** The subscriber the page watches: its topic, group and dead letters. */
const watched = 'purchases'

/** The page's routes with LIVE_PAGE, the controls (`access: 'token'`) with DEMO_CONTROLS. */
export function mountLiveRoutes(
  http: OpenAPIHono,
  routes: RouteDefinition<RouteRequest, LivePorts>[],
  ports: LivePorts,
  config: Pick<Config, 'LIVE_PAGE' | 'DEMO_CONTROLS' | 'DEMO_CONTROL_TOKEN'>,
): void {
  const controls = routes.filter((route) => route.access === 'token')
  mountRoutes(http, config.LIVE_PAGE ? routes : controls, ports, {
    controlToken: config.DEMO_CONTROLS ? config.DEMO_CONTROL_TOKEN : undefined,
  })
}

async function serveThePage({ context, api, routes }: FeatureHost<LivePorts>) {
  const { config, logger, http } = context
  if (!api || !(config.LIVE_PAGE || config.DEMO_CONTROLS)) return
  const subscriber = (await loadSubscribers()).find((s) => s.topic === watched)
  if (!subscriber?.deadLetter)
    throw new Error(`the live page watches ${watched}: no subscriber with dead letters reads it`)
  const queue = createQueueView(
    context.kafka,
    context.admin,
    {
      namePrefix: config.KAFKA_NAME_PREFIX,
      topic: watched,
      group: subscriber.group,
      deadLetter: subscriber.deadLetter,
    },
    logger,
  )
  context.onClose('the queue view', () => queue.stop())
  const demo = createDemo({
    post: async (purchase) => {
      const response = await http.request('/purchases', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(purchase),
      })
      await response.body?.cancel()
      return response.status
    },
    store: api.store,
    canaryIntervalMs: config.LIVE_PAGE ? config.CANARY_INTERVAL_MS : 0,
    freshness: context.metrics.canaryFreshness,
    logger,
  })
  context.onClose('the canary and the load', () => demo.stop())
  context.onAnswered(({ method, route, status, seconds }) => {
    if (method === 'POST' && route === '/purchases' && status < 500) {
      demo.recordPurchaseLatency(seconds)
    }
  })
  const ports = { ...api.ports, publish: context.publisher.publish, totals: api.store, queue, demo }
  mountLiveRoutes(http, routes, ports, config)
  if (!config.LIVE_PAGE) return
  const assetsDir = liveAssetsDir()
  if (!assetsDir) {
    logger.warn('the live page is not built (npm run build): / is not served')
    return
  }
  http.route(
    '/',
    livePageRoutes({
      snapshot: async () => http.request('/live/snapshot'),
      assetsDir,
      signal: context.stopping,
    }),
  )
}

function obeyTheControls({ context, consumers, subscribers }: FeatureHost<LivePorts>) {
  if (!consumers) return
  const { config, logger } = context
  const control = createConsumerControl(consumers, logger)
  for (const subscriber of subscribers) consumers.start(subscriber, { consumers: control })
  if (config.DEMO_CONTROLS && config.DEMO_CONTROL_TOKEN) {
    context.http.route('/', consumerControlRoutes(consumers.runners, config.DEMO_CONTROL_TOKEN))
  }
}

export default defineFeature<LivePorts>(async (host) => {
  await serveThePage(host)
  obeyTheControls(host)
})
