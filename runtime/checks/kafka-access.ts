/**
 * `helm test`'s Kafka check, run once per identity with the app's own configuration and that
 * identity's credentials. Consuming the purchases topic needs the consumer group: reading the
 * group's committed offsets and the topic's end offsets is what this checks. `allowed` passes
 * when that works (the consumer's user); `refused` passes when Kafka's authorizer refuses it (the
 * API's user). A connection or login failure passes neither.
 *
 *   node dist/runtime/checks/kafka-access.js allowed|refused
 */
import storePurchases from '../../handlers/subscribers/store-purchases.ts'
import { loadConfig } from '../config.ts'
import type { Admin } from '../kafka/client.ts'
import { createKafkaClient } from '../kafka/index.ts'
import { kafkaName } from '../kafka/topics.ts'
import { createLogger } from '../logger.ts'
import { CheckFailure, errorMessage, report } from './check.ts'

export type Expectation = 'allowed' | 'refused'

/** Kafka's protocol error names for a refused ACL: TOPIC_, GROUP_, CLUSTER_AUTHORIZATION_FAILED. */
function isAuthorizationRefusal(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    const type = (e as { type?: unknown }).type
    if (typeof type === 'string' && type.endsWith('_AUTHORIZATION_FAILED')) return true
  }
  return false
}

/** Resolves with what it saw when Kafka answered as expected; throws `CheckFailure` if not. */
export async function checkKafkaAccess(options: {
  connect: () => Promise<Pick<Admin, 'lag' | 'disconnect'>>
  group: string
  topic: string
  expectation: Expectation
}): Promise<string> {
  const { group, topic, expectation } = options
  const what = `the offsets of group "${group}" on topic "${topic}"`
  let admin: Pick<Admin, 'lag' | 'disconnect'> | undefined
  try {
    admin = await options.connect()
    const partitions = await admin.lag(group, topic)
    if (expectation === 'refused') {
      throw new CheckFailure(`read ${what}, which this user must not be allowed to`)
    }
    const lag = partitions.reduce((sum, p) => sum + p.lag, 0)
    return `read ${what}: ${partitions.length} partition(s), lag ${lag}`
  } catch (error) {
    if (error instanceof CheckFailure) throw error
    if (expectation === 'refused' && isAuthorizationRefusal(error)) {
      return `Kafka refused ${what}: ${errorMessage(error)}`
    }
    throw new CheckFailure(
      `${expectation === 'allowed' ? 'could not read' : 'expected an authorization refusal for'} ${what}: ${errorMessage(error)}`,
      { cause: error },
    )
  } finally {
    await admin?.disconnect().catch(() => {})
  }
}

async function main(): Promise<void> {
  const expectation = process.argv[2]
  if (expectation !== 'allowed' && expectation !== 'refused') {
    process.stderr.write('usage: kafka-access.js allowed|refused\n')
    process.exit(2)
  }
  const config = loadConfig()
  const kafka = createKafkaClient(config, createLogger(config.LOG_LEVEL, 'check'))
  await report(`kafka-access (${config.KAFKA_USERNAME})`, () =>
    checkKafkaAccess({
      connect: () => kafka.admin(),
      group: kafkaName(config.KAFKA_NAME_PREFIX, storePurchases.group),
      topic: kafkaName(config.KAFKA_NAME_PREFIX, storePurchases.topic),
      expectation,
    }),
  )
}

if (import.meta.main) await main()
