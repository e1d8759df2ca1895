import type { Identity } from './privileges.ts'
import type { RunningStack } from './stack.ts'

/**
 * Who a process on the local stack is: the API or the consumer (each with its own Kafka and
 * Elasticsearch users), the one-off store setup (Elasticsearch only), or the stack's admin (its
 * own topic administration and the tests' checks; the app never runs as it).
 */
export type StackIdentity = Identity | 'setup' | 'admin'

/** The environment of one process on a running local stack: the variables the chart sets in a cluster. */
export function appEnvironment(
  stack: Pick<RunningStack, 'kafka' | 'elasticsearch'>,
  identity: StackIdentity,
): Record<string, string> {
  const { kafka, elasticsearch } = stack
  const kafkaUser =
    identity === 'admin' ? kafka.admin : identity === 'setup' ? undefined : kafka.users[identity]
  const elasticsearchUser =
    identity === 'admin' ? elasticsearch.admin : elasticsearch.users[identity]
  return {
    KAFKA_BROKERS: kafka.brokers.join(','),
    ...(kafkaUser
      ? {
          KAFKA_SASL_MECHANISM: kafka.mechanism,
          KAFKA_USERNAME: kafkaUser.username,
          KAFKA_PASSWORD: kafkaUser.password,
        }
      : { KAFKA_SASL_MECHANISM: 'none' }),
    ELASTICSEARCH_URL: elasticsearch.url,
    ELASTICSEARCH_USERNAME: elasticsearchUser.username,
    ELASTICSEARCH_PASSWORD: elasticsearchUser.password,
    ELASTICSEARCH_CA_FILE: elasticsearch.caFile,
  }
}
