/** In-memory ports for handler and runtime tests: the behaviour the real adapters promise. */
import { UnavailableError } from '../../handlers/errors.ts'
import type {
  DeadLetter,
  Demo,
  GroupMember,
  LoadRequest,
  LoadStatus,
  OutgoingEvent,
  PartitionPosition,
  Ports,
  PurchaseStore,
  QueueView,
  Rebalance,
  SummaryQuery,
} from '../../handlers/ports.ts'
import type { Purchase, ShopSummary } from '../../handlers/purchase.ts'
import type { TopicName } from '../../handlers/topics.ts'

export interface MemoryPorts extends Ports {
  published: { topic: TopicName; event: OutgoingEvent }[]
  purchases: Map<string, Purchase>
  summaryQueries: SummaryQuery[]
  /** Makes the next calls fail as if the dependency were down. */
  outage: { kafka: boolean; store: boolean }
  /** What the queue view answers; tests set it. */
  kafka: {
    partitions: PartitionPosition[]
    members: GroupMember[]
    rebalances: Rebalance[]
    /** Newest first. */
    deadLetters: DeadLetter[]
  }
  loads: LoadRequest[]
}

/** The demo port in memory: loads are recorded, never run. */
function memoryDemo(loads: LoadRequest[]): Demo {
  let status: LoadStatus = { running: false, ratePerSecond: 0, sent: 0, accepted: 0, endsAt: null }
  return {
    startLoad(request) {
      loads.push(request)
      status = { ...status, running: true, ratePerSecond: request.ratePerSecond }
      return status
    },
    stopLoad() {
      status = { ...status, running: false }
      return status
    },
    load: () => status,
    freshness: () => ({ p50: 1.2, p99: 2.5, samples: 10 }),
    apiP99: () => 0.004,
  }
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
  const purchases = new Map<string, Purchase>()
  const summaryQueries: SummaryQuery[] = []
  const outage = { kafka: false, store: false }
  const kafka: MemoryPorts['kafka'] = {
    partitions: [],
    members: [],
    rebalances: [],
    deadLetters: [],
  }
  const loads: LoadRequest[] = []
  const fromKafka =
    <A extends unknown[], T>(read: (...args: A) => T) =>
    async (...args: A) => {
      if (outage.kafka) throw new UnavailableError('kafka', 'Kafka is down')
      return read(...args)
    }
  const queue: QueueView = {
    partitions: fromKafka(() => kafka.partitions),
    members: fromKafka(() => kafka.members),
    rebalances: async () => kafka.rebalances,
    deadLetterCount: fromKafka(() => kafka.deadLetters.length),
    latestDeadLetters: fromKafka((limit: number) => kafka.deadLetters.slice(0, limit)),
  }
  const storeDown = () => {
    if (outage.store) throw new UnavailableError('store', 'store is down')
  }
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
    async countPurchases() {
      storeDown()
      return purchases.size
    },
    async latestPurchases(limit) {
      storeDown()
      return [...purchases.values()]
        .sort((a, b) => b.received_at.localeCompare(a.received_at))
        .slice(0, limit)
    },
  }
  return {
    published,
    purchases,
    summaryQueries,
    outage,
    kafka,
    loads,
    queue,
    demo: memoryDemo(loads),
    publish: async (topic, event) => {
      if (outage.kafka) throw new UnavailableError('kafka', 'Kafka is down')
      published.push({ topic, event })
    },
    store,
    clock: { now: () => now },
  }
}
