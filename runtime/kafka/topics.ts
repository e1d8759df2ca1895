import type { Config } from '../config.ts'
import type { TopicSpec } from './broker.ts'

/**
 * The topics the app uses, for environments where the app creates them (the local stack). In a
 * cluster, Strimzi's KafkaTopic resources own them and the app has no right to create topics.
 */
export function topicSpecs(
  config: Pick<Config, 'KAFKA_TOPIC' | 'KAFKA_DEAD_LETTER_TOPIC'>,
  partitions: number,
  replicationFactor: number,
): TopicSpec[] {
  const minInsyncReplicas = String(Math.min(2, replicationFactor))
  return [
    {
      name: config.KAFKA_TOPIC,
      partitions,
      replicationFactor,
      config: { 'min.insync.replicas': minInsyncReplicas },
    },
    {
      name: config.KAFKA_DEAD_LETTER_TOPIC,
      partitions: 1,
      replicationFactor,
      // Dead letters wait for a person: keep them four weeks.
      config: {
        'min.insync.replicas': minInsyncReplicas,
        'retention.ms': String(28 * 24 * 3600 * 1000),
      },
    },
  ]
}
