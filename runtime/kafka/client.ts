/**
 * The Kafka port: the whole surface the runtime needs from a Kafka client, in the runtime's own
 * terms (offsets as bigints, "commit through this offset", an abort signal when work must stop).
 * Each adapter (`kafkajs.ts`, `platformatic.ts`) is one file that implements it; `index.ts`
 * picks one with KAFKA_CLIENT. Nothing outside runtime/kafka/ imports a Kafka client.
 */

export interface OutgoingMessage {
  /** Messages with the same key land in the same partition, in the order sent. */
  key: string | null
  value: string | Buffer
  headers?: Record<string, string>
}

export interface TopicMessages {
  topic: string
  messages: OutgoingMessage[]
}

export interface IncomingMessage {
  key: Buffer | null
  value: Buffer | null
  offset: bigint
  /** Milliseconds since the epoch (the producer's create time). */
  timestamp: number
  headers: Record<string, string>
}

/** Consecutive messages of one partition, in offset order. */
export interface PartitionBatch {
  topic: string
  partition: number
  messages: IncomingMessage[]
  /**
   * Aborted when this consumer loses the partition (a rebalance gave it to another member):
   * abandon the work and commit nothing; the new owner reads the uncommitted rest again. A
   * consumer that is stopping does not abort it: the batch finishes and its commits land.
   */
  signal: AbortSignal
  /**
   * Marks every message up to and including `offset` processed, and commits that position for
   * the group, so a restart reads on from the next message.
   */
  commitThrough(offset: bigint): Promise<void>
}

/** Why a broker refused a send in a way no retry can change. */
export type Refusal = 'authorization' | 'too large'

/** Kafka's error names for the refusals, as both client libraries report them. */
export const refusalsByKafkaError: Record<string, Refusal> = {
  TOPIC_AUTHORIZATION_FAILED: 'authorization',
  CLUSTER_AUTHORIZATION_FAILED: 'authorization',
  MESSAGE_TOO_LARGE: 'too large',
  RECORD_LIST_TOO_LARGE: 'too large',
}

/**
 * A send the broker refused for a reason that another attempt cannot change until someone
 * acts (an ACL is granted, a topic's size limit raised). Nothing of it was written.
 */
export class SendRefusedError extends Error {
  readonly refusal: Refusal

  constructor(refusal: Refusal, cause: unknown) {
    super(`Kafka refused the send (${refusal}): ${String(cause)}`, { cause })
    this.name = 'SendRefusedError'
    this.refusal = refusal
  }
}

export interface Producer {
  /**
   * Resolves when every message is acknowledged by all in-sync replicas. A rejection means
   * "maybe written": the caller may retry, and the copy is then a duplicate, never a loss;
   * except a `SendRefusedError`, which nothing will cure by itself.
   */
  send(batches: TopicMessages[]): Promise<void>
  disconnect(): Promise<void>
}

export interface ConsumerOptions {
  group: string
  topic: string
  /** Partitions handled at the same time; each one stays in offset order. */
  concurrency: number
}

export interface Consumer {
  /**
   * Joins the group and starts handing batches to `handle`, one batch per partition at a time.
   * Resolves once consuming has started. A batch whose `handle` resolved is done for this
   * session, committed or not (what is not committed is read again after a restart or a
   * rebalance); one whose `handle` rejects is handed over again.
   */
  start(handle: (batch: PartitionBatch) => Promise<void>): Promise<void>
  /** Stops fetching (the group membership stays) until `resume`. */
  pause(): void
  resume(): void
  /** Settles when the client has given up for good (it will not consume again by itself). */
  readonly crashed: Promise<Error>
  /** Lets the batches in flight finish, leaves the group, disconnects. */
  stop(): Promise<void>
}

export interface TopicSpec {
  name: string
  partitions: number
  replicationFactor: number
  config?: Record<string, string>
}

export interface PartitionLag {
  partition: number
  /** The group's next offset to read (the earliest retained offset when it never committed). */
  committed: number
  /** The log-end offset. */
  end: number
  lag: number
}

export interface PartitionOffsets {
  partition: number
  /** The earliest retained offset. */
  start: number
  /** The log-end offset. */
  end: number
}

export interface GroupMemberAssignment {
  id: string
  clientId: string
  host: string
  /** The partitions of `topic` it owns. */
  partitions: number[]
}

export interface Admin {
  /** Creates the topics that are missing; existing ones are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>
  deleteTopics(names: string[]): Promise<void>
  /** Throws when no broker answers. */
  ping(): Promise<void>
  lag(group: string, topic: string): Promise<PartitionLag[]>
  offsets(topic: string): Promise<PartitionOffsets[]>
  /** The group's members and the partitions of `topic` each owns (none while it rebalances). */
  members(group: string, topic: string): Promise<GroupMemberAssignment[]>
  disconnect(): Promise<void>
}

export interface ProducerOptions {
  /**
   * The longest one `send` may take, its retries included (the publisher's deadline): the
   * adapter fits its request timeouts and retries inside it, so no request outlives its caller.
   */
  sendTimeoutMs: number
}

/** One send's attempts, request timeout, back-off and broker-side ack timeout within its budget. */
export function sendBudget({ sendTimeoutMs }: ProducerOptions) {
  const attempts = 2
  const retryDelayMs = Math.min(200, Math.floor(sendTimeoutMs / 10))
  // A fifth of the budget is left for connecting and for the client's own bookkeeping.
  const requestTimeoutMs = Math.max(1, Math.floor((sendTimeoutMs * 0.8 - retryDelayMs) / attempts))
  return {
    retries: attempts - 1,
    retryDelayMs,
    requestTimeoutMs,
    /** The broker answers REQUEST_TIMED_OUT after this, before the client gives up on it. */
    ackTimeoutMs: Math.max(1, Math.floor(requestTimeoutMs * 0.75)),
  }
}

export interface KafkaClient {
  /** Without options, the client's own timeouts and retries (tools, tests, dead letters). */
  producer(options?: ProducerOptions): Promise<Producer>
  consumer(options: ConsumerOptions): Promise<Consumer>
  admin(): Promise<Admin>
}
