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

/** Resolves once the event is durably written (acknowledged by all in-sync replicas). */
export type Publish = (topic: TopicName, event: OutgoingEvent) => Promise<void>

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
  /** Purchases stored, all told. */
  countPurchases(): Promise<number>
  /** The purchases the store received last, newest first. */
  latestPurchases(limit: number): Promise<Purchase[]>
}

/** One partition of the purchases topic as the indexer group sees it. */
export interface PartitionPosition {
  partition: number
  /** The log-end offset: the next event's offset. */
  end: number
  /** The group's next offset to read. */
  committed: number
  /** When the oldest event the group has not committed arrived, as far as was seen; null when none waits. */
  oldestWaitingSince: string | null
}

export interface GroupMember {
  id: string
  clientId: string
  host: string
  partitions: number[]
}

/** A change of the group's members or of who owns which partitions. */
export interface Rebalance {
  at: string
  members: number
  /** Partitions whose owner changed (0 when a member joined or left without taking any). */
  moved: number
  /**
   * How long the readings saw partitions without an owner, in milliseconds: from the first reading
   * that did to the one that saw the new owners. 0 when no reading fell inside the rebalance.
   */
  unownedMs: number
  /** Time between the reading that saw the change and the one before it: the resolution. */
  readingsApartMs: number
}

export interface DeadLetter {
  /** Its offset in the dead-letter topic. */
  offset: string
  key: string | null
  /** The original message's bytes as text. */
  value: string
  reason: string
  failedAt: string
  origin: { topic: string; partition: number; offset: string }
  /** Times it was redriven already (the `replay-count` header). */
  replays: number
}

/** The queue as the live page shows it: read-only views of Kafka. */
export interface QueueView {
  partitions(): Promise<PartitionPosition[]>
  members(): Promise<GroupMember[]>
  /** The latest changes of the group, oldest first. */
  rebalances(): Promise<Rebalance[]>
  deadLetterCount(): Promise<number>
  /** The latest dead letters, newest first. */
  latestDeadLetters(limit: number): Promise<DeadLetter[]>
}

export interface LoadRequest {
  ratePerSecond: number
  durationSeconds: number
}

export interface LoadStatus {
  running: boolean
  ratePerSecond: number
  /** Purchases sent and answered 202 since the load started. */
  sent: number
  accepted: number
  endsAt: string | null
}

/** The live page's built-in measurements and load. */
export interface Demo {
  /** Starts the load generator (a running one is replaced). */
  startLoad(request: LoadRequest): LoadStatus
  stopLoad(): LoadStatus
  load(): LoadStatus
  /** Seconds from 202 to searchable, of the canary's recent purchases. */
  freshness(): { p50: number | null; p99: number | null; samples: number }
  /** The API's p99 for POST /purchases over the last few seconds, in seconds. */
  apiP99(): number | null
}

export interface Ports {
  publish: Publish
  store: PurchaseStore
  clock: Clock
  queue: QueueView
  demo: Demo
}
