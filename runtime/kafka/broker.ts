/**
 * The small surface the runtime needs from a Kafka client. Only `kafkajs.ts` implements it, so
 * swapping the client (kafkajs is no longer maintained) means writing one file.
 */
export interface OutgoingMessage {
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
  offset: string
  timestamp: string
  headers: Record<string, string>
}

export interface Batch {
  topic: string
  partition: number
  messages: IncomingMessage[]
}

export interface BatchContext {
  /** Keeps the group membership alive during long work on one batch. */
  heartbeat(): Promise<void>
  /** False once the consumer is stopping or lost the partition: abandon work, do not commit. */
  isRunning(): boolean
  /**
   * Marks the messages before `offset` processed and commits `offset` as the next one the group
   * reads from this partition. What is not committed is read again.
   */
  commit(offset: string): Promise<void>
}

export interface Producer {
  /** Resolves when every message is acknowledged by all in-sync replicas. */
  send(batches: TopicMessages[]): Promise<void>
  disconnect(): Promise<void>
}

export interface Consumer {
  /** Starts consuming; `onBatch` gets one partition's batch at a time, in offset order. */
  run(topic: string, onBatch: (batch: Batch, context: BatchContext) => Promise<void>): Promise<void>
  pause(topic: string): void
  resume(topic: string): void
  /** Finishes the batch in flight, leaves the group, disconnects. */
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
  committed: number
  end: number
  lag: number
}

export interface Admin {
  /** Creates the topics that are missing; existing ones are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>
  deleteTopics(names: string[]): Promise<void>
  /** Throws when no broker answers. */
  ping(): Promise<void>
  lag(group: string, topic: string): Promise<PartitionLag[]>
  disconnect(): Promise<void>
}

export interface Broker {
  producer(): Promise<Producer>
  /** `concurrency`: partitions handled at the same time; each one stays in offset order. */
  consumer(group: string, options?: { concurrency?: number }): Promise<Consumer>
  admin(): Promise<Admin>
}
