/** The `store` port on Elasticsearch: an index template, bulk writes, queries, aggregations. */
import { readFileSync } from 'node:fs'
import { Client, errors } from '@elastic/elasticsearch'
import { UnavailableError } from '../../handlers/errors.ts'
import type { PurchaseStore } from '../../handlers/ports.ts'
import type { Purchase } from '../../handlers/purchase.ts'
import type { Config } from '../config.ts'
import { fromDocument, type PurchaseDocument, purchaseMappings, toDocument } from './document.ts'

type StoreSettings = Pick<
  Config,
  | 'ELASTICSEARCH_URL'
  | 'ELASTICSEARCH_USERNAME'
  | 'ELASTICSEARCH_PASSWORD'
  | 'ELASTICSEARCH_CA_FILE'
  | 'ELASTICSEARCH_INDEX'
>

export interface ElasticsearchStore extends PurchaseStore {
  /** Purchases stored, all told. */
  countPurchases(): Promise<number>
  /** The purchases the store received last, newest first. */
  latestPurchases(limit: number): Promise<Purchase[]>
  /** Puts the index template and creates the index; safe to run again (the setup identity's work). */
  setup(): Promise<void>
  /** Throws when the cluster does not answer or refuses these credentials. */
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * The API keeps `timeouts` short, so a frozen store is a fast 503 rather than a hang; the
 * consumer gives a bulk write of several megabytes the time it needs.
 */
export function createElasticsearchClient(
  config: StoreSettings,
  timeouts: { requestTimeoutMs: number; maxRetries: number } = {
    requestTimeoutMs: 10_000,
    maxRetries: 1,
  },
): Client {
  // The request timeout starts once connected: a store that accepts connections and then hangs
  // the TLS handshake (frozen, not down) needs a connect bound too, else undici's 10 s. The
  // transport passes undici's options through, though its type lists only some of them.
  const agent = { connections: 256, connectTimeout: timeouts.requestTimeoutMs }
  return new Client({
    node: config.ELASTICSEARCH_URL,
    ...(config.ELASTICSEARCH_USERNAME && {
      auth: {
        username: config.ELASTICSEARCH_USERNAME,
        password: config.ELASTICSEARCH_PASSWORD ?? '',
      },
    }),
    ...(config.ELASTICSEARCH_CA_FILE && {
      tls: { ca: readFileSync(config.ELASTICSEARCH_CA_FILE, 'utf8') },
    }),
    requestTimeout: timeouts.requestTimeoutMs,
    maxRetries: timeouts.maxRetries,
    agent,
  })
}

/**
 * Statuses that say the store cannot take any request now, whatever it holds: wrong credentials
 * (401), missing privileges or a write block (403), a missing or closed index (404), overload
 * (429) and server errors. They are outages to wait out, never the fault of one message: treating
 * them as poison would empty the topic into the dead letters.
 */
const isOutageStatus = (status: number | undefined) =>
  status === undefined || [401, 403, 404, 408, 429].includes(status) || status >= 500

function isOutage(error: unknown): boolean {
  if (error instanceof errors.ResponseError) return isOutageStatus(error.statusCode)
  return (
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoLivingConnectionsError
  )
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (isOutage(error)) {
      const reason = error instanceof errors.ResponseError ? ` (HTTP ${error.statusCode})` : ''
      throw new UnavailableError('elasticsearch', `Elasticsearch is unavailable${reason}`, {
        cause: error,
      })
    }
    throw error
  }
}

/** Before the first start has created the index, a search finds nothing rather than failing. */
const noIndexYetIsEmpty = { ignore_unavailable: true, allow_no_indices: true }

interface Sum {
  value: number | null
}

interface SumBucket {
  doc_count: number
  scoops: Sum
  revenue: Sum
}

/** The shape of the summary's aggregations, as requested in `summarize`. */
interface SummaryAggregations {
  scoops: Sum
  revenue: Sum
  by_day: { buckets: (SumBucket & { key_as_string: string })[] }
  scoops_nested: {
    by_type: { buckets: (SumBucket & { key: string; purchases: { doc_count: number } })[] }
  }
}

export function createElasticsearchStore(client: Client, index: string): ElasticsearchStore {
  const shopRange = (shopId: string, from: string, to: string) => ({
    bool: {
      filter: [{ term: { shop_id: shopId } }, { range: { timestamp: { gte: from, lt: to } } }],
    },
  })

  return {
    async setup() {
      await guard(async () => {
        await client.indices.putIndexTemplate({
          name: `${index}-template`,
          index_patterns: [index],
          priority: 500,
          template: {
            settings: {
              // One shard keeps per-flavour terms aggregations exact; a replica wherever a
              // second node exists (none locally, where a replica would leave the index yellow).
              number_of_shards: 1,
              auto_expand_replicas: '0-1',
            },
            mappings: purchaseMappings,
          },
        })
        // 400 is "already exists"; checking first would need a privilege more (view_index_metadata).
        await client.indices.create({ index }, { ignore: [400] })
      })
    },

    async ping() {
      // Every user may ask who it is: the store answers and takes these credentials, and no
      // identity needs a cluster privilege (monitor) for its readiness.
      await guard(() => client.security.authenticate())
    },

    async savePurchases(purchases) {
      const response = await guard(() =>
        client.bulk({
          operations: purchases.flatMap((purchase) => [
            {
              index: {
                _index: index,
                _id: purchase.purchase_id,
                // The copy received last wins, even when an older one is redelivered after it.
                version: Date.parse(purchase.received_at),
                version_type: 'external_gte' as const,
              },
            },
            toDocument(purchase),
          ]),
        }),
      )
      if (!response.errors) return { rejected: [] }
      const rejected: { index: number; reason: string }[] = []
      for (const [position, item] of response.items.entries()) {
        const result = item.index
        if (!result?.error || result.status === 409) continue
        if (isOutageStatus(result.status)) {
          throw new UnavailableError(
            'elasticsearch',
            `bulk item failed with ${result.status}: ${result.error.type}: ${result.error.reason ?? ''}`,
          )
        }
        rejected.push({
          index: position,
          reason: `${result.error.type}: ${result.error.reason ?? ''}`,
        })
      }
      return { rejected }
    },

    async findPurchases({ shopId, from, to, after, limit }) {
      const response = await guard(() =>
        client.search<PurchaseDocument>({
          index,
          size: limit,
          query: shopRange(shopId, from, to),
          sort: [{ timestamp: 'asc' }, { purchase_id: 'asc' }],
          ...noIndexYetIsEmpty,
          ...(after && { search_after: [Date.parse(after.timestamp), after.purchaseId] }),
        }),
      )
      return response.hits.hits.flatMap((hit) => (hit._source ? [fromDocument(hit._source)] : []))
    },

    async summarize({ shopId, from, to, timeZone }) {
      const sums = {
        scoops: { sum: { field: 'scoop_count' } },
        revenue: { sum: { field: 'total_cents' } },
      }
      const response = await guard(() =>
        client.search<unknown, SummaryAggregations>({
          index,
          size: 0,
          track_total_hits: true,
          ...noIndexYetIsEmpty,
          query: shopRange(shopId, from, to),
          aggs: {
            ...sums,
            by_day: {
              date_histogram: {
                field: 'timestamp',
                calendar_interval: 'day',
                time_zone: timeZone,
                format: 'yyyy-MM-dd',
                min_doc_count: 1,
              },
              aggs: sums,
            },
            scoops_nested: {
              nested: { path: 'scoops' },
              aggs: {
                by_type: {
                  terms: { field: 'scoops.type', size: 1000, order: { _key: 'asc' } },
                  aggs: {
                    scoops: { sum: { field: 'scoops.quantity' } },
                    revenue: { sum: { field: 'scoops.line_total_cents' } },
                    purchases: { reverse_nested: {} },
                  },
                },
              },
            },
          },
        }),
      )
      const aggs = response.aggregations
      if (!aggs) return { purchases: 0, scoops: 0, revenue_cents: 0, by_flavour: [], by_day: [] }
      const totals = (bucket: SumBucket) => ({
        purchases: bucket.doc_count,
        scoops: bucket.scoops.value ?? 0,
        revenue_cents: bucket.revenue.value ?? 0,
      })
      const total = response.hits.total
      return {
        ...totals({
          doc_count: typeof total === 'number' ? total : (total?.value ?? 0),
          scoops: aggs.scoops,
          revenue: aggs.revenue,
        }),
        by_flavour: aggs.scoops_nested.by_type.buckets.map((bucket) => ({
          type: bucket.key,
          ...totals(bucket),
          purchases: bucket.purchases.doc_count,
        })),
        by_day: aggs.by_day.buckets.map((bucket) => ({
          date: bucket.key_as_string,
          ...totals(bucket),
        })),
      }
    },

    async countPurchases() {
      const response = await guard(() => client.count({ index, ...noIndexYetIsEmpty }))
      return response.count
    },

    async latestPurchases(limit) {
      const response = await guard(() =>
        client.search<PurchaseDocument>({
          index,
          size: limit,
          sort: [{ received_at: 'desc' }],
          ...noIndexYetIsEmpty,
        }),
      )
      return response.hits.hits.flatMap((hit) => (hit._source ? [fromDocument(hit._source)] : []))
    },

    close: () => client.close(),
  }
}
