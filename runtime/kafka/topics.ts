/** Kafka names of the declared topics and groups, and the topics as specs for creating them. */
import { hostname } from 'node:os'
import { allTopics } from '../load-handlers.ts'
import type { TopicSpec } from './client.ts'

/** The Kafka name of a declared topic or a consumer group: KAFKA_NAME_PREFIX put before it. */
export const kafkaName = (prefix: string, name: string): string => `${prefix}${name}`

/** This process among its replicas: what makes a group of its own. */
export const instanceId = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`

/**
 * A group of this process's own, under `groupPrefix` (which the process's identity may read
 * under, chart/files/privileges.yaml): every process in one sees every message.
 */
export const processGroup = (groupPrefix: string): string => `${groupPrefix}${instanceId}`

/**
 * Every declared topic (the product's and each feature's: runtime/load-handlers.ts), for
 * environments where the app's tooling creates them (the local stack, the tests, the bench); in
 * a cluster, Strimzi's KafkaTopics own them. Replication is capped at the brokers there are, and
 * min.insync.replicas at the replication, so one broker will do.
 */
export async function topicSpecs(prefix: string, brokers: number): Promise<TopicSpec[]> {
  return Object.entries(await allTopics()).map(([name, topic]) => {
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
