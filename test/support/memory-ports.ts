/** In-memory ports for handler and runtime tests: the behaviour the real adapters promise. */
import {
  type OutgoingEvent,
  type Ports,
  type PurchaseStore,
  type SummaryQuery,
  type TopicName,
  UnavailableError,
} from '../../handlers/define.ts'
import type { PurchaseDocument, ShopSummary } from '../../handlers/purchase.ts'

export interface MemoryPorts extends Ports {
  published: { topic: TopicName; event: OutgoingEvent }[]
  documents: Map<string, PurchaseDocument>
  summaryQueries: SummaryQuery[]
  /** Makes the next calls fail as if the dependency were down. */
  outage: { kafka: boolean; store: boolean }
}

export const emptySummary: ShopSummary = {
  purchases: 0,
  scoops: 0,
  revenue_cents: 0,
  by_flavour: [],
  by_day: [],
}

export function memoryPorts(now = new Date('2021-12-30T12:00:00Z')): MemoryPorts {
  const published: MemoryPorts['published'] = []
  const documents = new Map<string, PurchaseDocument>()
  const summaryQueries: SummaryQuery[] = []
  const outage = { kafka: false, store: false }
  const storeDown = () => {
    if (outage.store) throw new UnavailableError('store', 'store is down')
  }
  const store: PurchaseStore = {
    async savePurchases(batch) {
      storeDown()
      for (const document of batch) {
        const current = documents.get(document.purchase_id)
        if (!current || current.received_at <= document.received_at) {
          documents.set(document.purchase_id, document)
        }
      }
      return { rejected: [] }
    },
    async findPurchases({ shopId, from, to, after, limit }) {
      storeDown()
      return [...documents.values()]
        .filter((d) => {
          const at = Date.parse(d.timestamp)
          return d.shop_id === shopId && at >= Date.parse(from) && at < Date.parse(to)
        })
        .sort(
          (a, b) =>
            a.timestamp.localeCompare(b.timestamp) || a.purchase_id.localeCompare(b.purchase_id),
        )
        .filter(
          (d) =>
            !after ||
            d.timestamp > after.timestamp ||
            (d.timestamp === after.timestamp && d.purchase_id > after.purchaseId),
        )
        .slice(0, limit)
        .map(({ scoop_count: _, ...purchase }) => ({
          ...purchase,
          scoops: purchase.scoops.map(({ type, quantity, price }) => ({ type, quantity, price })),
        }))
    },
    async summarize(query) {
      storeDown()
      summaryQueries.push(query)
      return emptySummary
    },
  }
  const silent = () => {}
  return {
    published,
    documents,
    summaryQueries,
    outage,
    publish: async (topic, event) => {
      if (outage.kafka) throw new UnavailableError('kafka', 'Kafka is down')
      published.push({ topic, event })
    },
    store,
    clock: { now: () => now },
    logger: { debug: silent, info: silent, warn: silent, error: silent },
  }
}
