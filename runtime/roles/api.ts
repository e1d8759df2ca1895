/** `ROLE=api`: the product's routes on the process's HTTP app, publishing to Kafka. */
import type { Ports } from '../../handlers/ports.ts'
import type { Context } from '../context.ts'
import {
  createElasticsearchClient,
  createElasticsearchStore,
  type ElasticsearchStore,
} from '../elasticsearch/store.ts'
import { mountRoutes } from '../http/app.ts'
import { loadRoutes } from '../load-handlers.ts'

export interface Api {
  /** What the product's routes receive. */
  ports: Ports
  store: ElasticsearchStore
}

export async function startApi(context: Context): Promise<Api> {
  const { config, publisher } = context
  // A query waits for no retry: it answers, or fails fast with a 503 the client may retry.
  const store = createElasticsearchStore(
    createElasticsearchClient(config, { requestTimeoutMs: 3_000, maxRetries: 0 }),
    config.ELASTICSEARCH_INDEX,
  )
  context.onClose('the API store', () => store.close())
  const ports: Ports = { publish: publisher.publish, store, clock: { now: () => new Date() } }
  mountRoutes(context.http, await loadRoutes<Ports>(), ports)
  // An API pod stays ready while Kafka takes purchases, whatever Elasticsearch does: that is
  // the queue's point.
  context.ready(
    'kafka',
    async () => {
      // A broker that answers is not enough: with two of three nodes gone it still does, while
      // no write can be acknowledged.
      const refusal = publisher.refusal()
      if (refusal) throw new Error(refusal)
      await (await context.admin()).ping()
    },
    { required: true },
  )
  context.ready('elasticsearch', () => store.ping(), { required: false })
  return { ports, store }
}
