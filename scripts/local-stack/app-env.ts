import type { RunningStack } from './stack.ts'

/** The app's environment for a running local stack: the variables the chart sets in a cluster. */
export function appEnvironment(
  stack: Pick<RunningStack, 'kafka' | 'elasticsearch'>,
): Record<string, string> {
  const { kafka, elasticsearch } = stack
  return {
    KAFKA_BROKERS: kafka.brokers.join(','),
    ...(kafka.sasl
      ? {
          KAFKA_SASL_MECHANISM: kafka.sasl.mechanism,
          KAFKA_USERNAME: kafka.sasl.username,
          KAFKA_PASSWORD: kafka.sasl.password,
        }
      : { KAFKA_SASL_MECHANISM: 'none' }),
    ELASTICSEARCH_URL: elasticsearch.url,
    ELASTICSEARCH_USERNAME: elasticsearch.username,
    ELASTICSEARCH_PASSWORD: elasticsearch.password,
    ELASTICSEARCH_CA_FILE: elasticsearch.caFile,
  }
}
