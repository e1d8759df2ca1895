/**
 * The one way to get a Kafka client: KAFKA_CLIENT picks the adapter behind the port in
 * client.ts. Nothing outside runtime/kafka/ imports an adapter or a Kafka library.
 */
import type { KafkaSettings } from '../config.ts'
import type { AppLogger } from '../logger.ts'
import type { KafkaClient } from './client.ts'
import { createKafkajsClient } from './kafkajs.ts'
import { createPlatformaticClient } from './platformatic.ts'

const adapters: Record<
  KafkaSettings['KAFKA_CLIENT'],
  (config: KafkaSettings, logger: AppLogger) => KafkaClient
> = {
  kafkajs: createKafkajsClient,
  platformatic: createPlatformaticClient,
}

export function createKafkaClient(config: KafkaSettings, logger: AppLogger): KafkaClient {
  return adapters[config.KAFKA_CLIENT](config, logger)
}
