/**
 * Every topic the product reads or writes, declared once (a feature beside it, such as live/,
 * declares its own in its topics.ts; runtime/load-handlers.ts gathers them all). The runtime
 * names them (with KAFKA_NAME_PREFIX), the local stack and the bench create them, and the
 * chart's KafkaTopics are generated from them (`node scripts/chart/declarations.ts --write`
 * writes chart/files/declarations.yaml; a unit test fails while it is stale).
 */
export interface TopicDeclaration {
  partitions: number
  /** Copies of each partition on different brokers. */
  replicationFactor: number
  /** Topic-level Kafka configuration, e.g. `min.insync.replicas`, `retention.ms`. */
  config: Record<string, string | number>
}

/**
 * Declares topics, by name. The names become the type that `publish` accepts (`TopicName` for
 * the product's), so publishing to a topic that is not declared does not compile.
 */
export function defineTopics<T extends Record<string, TopicDeclaration>>(topics: T): T {
  return topics
}

const days = (count: number) => count * 24 * 60 * 60 * 1000

export const topics = defineTopics({
  purchases: {
    // The upper bound of useful consumers in a group; can grow later, never shrink.
    partitions: 6,
    replicationFactor: 3,
    // An acknowledged write survives the loss of one broker.
    config: { 'min.insync.replicas': 2, 'retention.ms': days(7) },
  },
  'purchases.dead-letter': {
    partitions: 1,
    replicationFactor: 3,
    config: {
      'min.insync.replicas': 2,
      // Dead letters wait for a person: four weeks.
      'retention.ms': days(28),
      // The size of one record batch the broker takes; the runtime cuts its dead-letter sends
      // (and a larger letter's value) to fit it, so a dead letter is never refused for its size.
      'max.message.bytes': 1024 * 1024,
    },
  },
})

export type TopicName = keyof typeof topics
