/**
 * The ports a handler receives: what it may ask of the outside world, in its own terms. The
 * runtime implements them on Kafka and Elasticsearch; tests implement them in memory.
 */
import type { Purchase, ShopSummary } from './purchase.ts'
import type { TopicName } from './topics.ts'

export interface Clock {
  now(): Date
}

export interface OutgoingEvent {
  /** Events with the same key keep their order (they land in one partition). */
  key: string
  /** Sent as JSON, or as it is when `verbatim` (a redriven dead letter keeps its own bytes). */
  value: unknown
  verbatim?: boolean
  headers?: Record<string, string>
}

/**
 * Resolves once the event is durably written (acknowledged by all in-sync replicas). Takes the
 * declared topics: the product's, or a feature's that declares more.
 */
export type Publish<Topic extends string = TopicName> = (
  topic: Topic,
  event: OutgoingEvent,
) => Promise<void>

/** Sort position of a purchase in a shop's day: the `after` of the next page. */
export interface PurchasePosition {
  timestamp: string
  purchaseId: string
}

export interface PurchaseQuery {
  shopId: string
  /** Inclusive lower bound, RFC 3339. */
  from: string
  /** Exclusive upper bound, RFC 3339. */
  to: string
  after?: PurchasePosition
  limit: number
}

export interface SummaryQuery {
  shopId: string
  from: string
  to: string
  timeZone: string
}

export interface SaveResult {
  /** Items refused for good (e.g. a mapping error), by position: they go to the dead letters. */
  rejected: { index: number; reason: string }[]
}

export interface PurchaseStore {
  /**
   * Idempotent by purchase id: the copy received last wins. Throws `UnavailableError` when the
   * store cannot be reached.
   */
  savePurchases(purchases: Purchase[]): Promise<SaveResult>
  findPurchases(query: PurchaseQuery): Promise<Purchase[]>
  summarize(query: SummaryQuery): Promise<ShopSummary>
}

/** What the product's handlers receive. */
export interface Ports {
  publish: Publish
  store: PurchaseStore
  clock: Clock
}
