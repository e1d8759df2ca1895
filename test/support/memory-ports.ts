/** In-memory ports for handler and runtime tests: the behaviour the real adapters promise. */
import { UnavailableError } from '../../handlers/errors.ts'
import type {
  OutgoingEvent,
  Ports,
  Publish,
  PurchaseStore,
  SummaryQuery,
} from '../../handlers/ports.ts'
import type { Purchase, ShopSummary } from '../../handlers/purchase.ts'

export interface MemoryPorts extends Ports {
  /** Takes any topic name, as the publisher does (a feature's ports publish to theirs too). */
  publish: Publish<string>
  published: { topic: string; event: OutgoingEvent }[]
  purchases: Map<string, Purchase>
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

/** Whether the in-memory Kafka or store is down; throws as the real adapters then do. */
export function failIfDown(outage: MemoryPorts['outage'], dependency: 'kafka' | 'store'): void {
  if (!outage[dependency]) return
  throw new UnavailableError(dependency, `${dependency === 'kafka' ? 'Kafka' : 'store'} is down`)
}

export function memoryPorts(now = new Date('2021-12-30T12:00:00Z')): MemoryPorts {
  const published: MemoryPorts['published'] = []
  const purchases = new Map<string, Purchase>()
  const summaryQueries: SummaryQuery[] = []
  const outage = { kafka: false, store: false }
  const storeDown = () => failIfDown(outage, 'store')
  const store: PurchaseStore = {
    async savePurchases(batch) {
      storeDown()
      for (const purchase of batch) {
        const current = purchases.get(purchase.purchase_id)
        if (!current || current.received_at <= purchase.received_at) {
          purchases.set(purchase.purchase_id, purchase)
        }
      }
      return { rejected: [] }
    },
    async findPurchases({ shopId, from, to, after, limit }) {
      storeDown()
      return [...purchases.values()]
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
    },
    async summarize(query) {
      storeDown()
      summaryQueries.push(query)
      return emptySummary
    },
  }
  return {
    published,
    purchases,
    summaryQueries,
    outage,
    publish: async (topic, event) => {
      failIfDown(outage, 'kafka')
      published.push({ topic, event })
    },
    store,
    clock: { now: () => now },
  }
}
