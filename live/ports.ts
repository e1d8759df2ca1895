/**
 * The live page's ports and shapes. Each shape the page and the server share is declared here
 * once, in zod (the routes validate and document it); its TypeScript type derives from it, and
 * the browser page imports only those types (`import type`), so zod stays out of its bundle.
 */
import { z } from 'zod'
import type { Ports, Publish } from '../handlers/ports.ts'
import { Purchase } from '../handlers/purchase.ts'
import type { TopicName } from '../handlers/topics.ts'
import type { topics } from './topics.ts'

/** What the live page's consumer controls ask of every consumer process. */
export const ConsumerCommand = z.enum(['pause', 'resume', 'add', 'remove'])
export type ConsumerCommand = z.output<typeof ConsumerCommand>

/** One partition of the purchases topic as the indexer group sees it. */
export const PartitionPosition = z.object({
  partition: z.number(),
  /** The log-end offset: the next event's offset. */
  end: z.number(),
  /** The group's next offset to read. */
  committed: z.number(),
  /** When the oldest event the group has not committed arrived, as far as was seen; null when none waits. */
  oldestWaitingSince: z.string().nullable(),
})
export type PartitionPosition = z.output<typeof PartitionPosition>

export const GroupMember = z.object({
  id: z.string(),
  clientId: z.string(),
  host: z.string(),
  partitions: z.array(z.number()),
})
export type GroupMember = z.output<typeof GroupMember>

/** A change of the group's members or of who owns which partitions. */
export const Rebalance = z.object({
  at: z.string(),
  members: z.number(),
  /** Partitions whose owner changed (0 when a member joined or left without taking any). */
  moved: z.number(),
  /**
   * How long the readings saw partitions without an owner, in milliseconds: from the first reading
   * that did to the one that saw the new owners. 0 when no reading fell inside the rebalance.
   */
  unownedMs: z.number(),
  /** Time between the reading that saw the change and the one before it: the resolution. */
  readingsApartMs: z.number(),
})
export type Rebalance = z.output<typeof Rebalance>

export const DeadLetter = z
  .object({
    /** Its offset in the dead-letter topic. */
    offset: z.string(),
    key: z.string().nullable(),
    /** The original message's bytes as text. */
    value: z.string(),
    reason: z.string(),
    failedAt: z.string(),
    origin: z.object({ topic: z.string(), partition: z.number(), offset: z.string() }),
    /** Times it was redriven already (the `replay-count` header). */
    replays: z.number(),
  })
  .meta({ id: 'DeadLetter' })
export type DeadLetter = z.output<typeof DeadLetter>

export const LoadStatus = z
  .object({
    running: z.boolean(),
    ratePerSecond: z.number(),
    /** Purchases sent and answered 202 since the load started. */
    sent: z.number(),
    accepted: z.number(),
    endsAt: z.string().nullable(),
  })
  .meta({ id: 'LoadStatus' })
export type LoadStatus = z.output<typeof LoadStatus>

/** Seconds from 202 to searchable, of the canary's recent purchases. */
export const Freshness = z.object({
  p50: z.number().nullable(),
  p99: z.number().nullable(),
  samples: z.number(),
})
export type Freshness = z.output<typeof Freshness>

/** What the live page shows, once a second; a reading that failed (a dependency away) is null. */
export const Snapshot = z
  .object({
    at: z.string(),
    partitions: z.array(PartitionPosition).nullable(),
    members: z.array(GroupMember).nullable(),
    rebalances: z.array(Rebalance),
    documents: z.number().nullable(),
    deadLetters: z.number().nullable(),
    latestPurchases: z.array(Purchase).nullable(),
    freshness: Freshness,
    apiP99: z.number().nullable(),
    load: LoadStatus,
  })
  .meta({ id: 'LiveSnapshot' })
export type Snapshot = z.output<typeof Snapshot>

/** A control's answer: what was sent, and what to watch on the page. */
export const Sent = z
  .object({ status: z.literal('sent'), watch: z.string() })
  .meta({ id: 'ControlSent' })

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

/** The live page's built-in measurements and load. */
export interface Demo {
  /** Starts the load generator (a running one is replaced). */
  startLoad(request: LoadRequest): LoadStatus
  stopLoad(): LoadStatus
  load(): LoadStatus
  freshness(): Freshness
  /** The API's p99 for POST /purchases over the last few seconds, in seconds. */
  apiP99(): number | null
}

/** What the page reads of the store beside the product's queries. */
export interface StoreTotals {
  /** Purchases stored, all told. */
  countPurchases(): Promise<number>
  /** The purchases the store received last, newest first. */
  latestPurchases(limit: number): Promise<Purchase[]>
}

/** The product's topics and the live page's own. */
export type LiveTopicName = TopicName | keyof typeof topics

/** What the live page's routes receive: the product's ports and its own. */
export interface LivePorts extends Omit<Ports, 'publish'> {
  publish: Publish<LiveTopicName>
  totals: StoreTotals
  queue: QueueView
  demo: Demo
}

/** A consumer process's own members, as the consumer commands move them. */
export interface ConsumerControl {
  obey(command: ConsumerCommand): void
}

/** What the consumer commands' subscriber receives. */
export interface ConsumerCommandPorts {
  consumers: ConsumerControl
}
