/** The declared topics (handlers/topics.ts) as Kafka names and as specs for creating them. */
import { topics } from '../../handlers/topics.ts'
import type { TopicSpec } from './client.ts'

/** The Kafka name of a declared topic or a consumer group: KAFKA_NAME_PREFIX put before it. */
export const kafkaName = (prefix: string, name: string): string => `${prefix}${name}`

/**
 * The declared topics, for environments where the app's tooling creates them (the local stack,
 * the tests, the bench); in a cluster, Strimzi's KafkaTopics own them. Replication is capped at
 * the brokers there are, and min.insync.replicas at the replication, so one broker will do.
 */
export function topicSpecs(prefix: string, brokers: number): TopicSpec[] {
  return Object.entries(topics).map(([name, topic]) => {
    const replicationFactor = Math.min(topic.replicationFactor, brokers)
    const config = Object.fromEntries(
      Object.entries(topic.config).map(([key, value]) => [key, String(value)]),
    )
    const minInsync = config['min.insync.replicas']
    if (minInsync !== undefined) {
      config['min.insync.replicas'] = String(Math.min(Number(minInsync), replicationFactor))
    }
    return {
      name: kafkaName(prefix, name),
      partitions: topic.partitions,
      replicationFactor,
      config,
    }
  })
}
