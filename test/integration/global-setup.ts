/**
 * Starts the real Kafka and Elasticsearch once per test run (fetched on first use), gives this
 * run its own topics, consumer group and index (a name prefix), and the app's identities the
 * privileges the chart gives them (chart/files/privileges.yaml): the tests run as deployed.
 */
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { loadConfig } from '../../runtime/config.ts'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import { createKafkaBroker } from '../../runtime/kafka/kafkajs.ts'
import { topicSpecs } from '../../runtime/kafka/topics.ts'
import { createLogger } from '../../runtime/logger.ts'
import { setUpStore } from '../../runtime/main.ts'
import { appEnvironment, type StackIdentity } from '../../scripts/local-stack/app-env.ts'
import { cacheDir } from '../../scripts/local-stack/fetch.ts'
import { startStack } from '../../scripts/local-stack/stack.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Each identity's environment; `admin` is the stack's own, for checks the app may not make. */
    appEnv: Record<StackIdentity, Record<string, string>>
  }
}

// Two checkouts can test at once when each sets its own ICECREAM_TEST_PORT_BASE (default 29000).
const portBase = Number(process.env.ICECREAM_TEST_PORT_BASE || 29_000)

export default async function setup(project: TestProject) {
  const log = (line: string) => process.stderr.write(`[test stack] ${line}\n`)
  const stack = await startStack({
    dataDir: join(cacheDir(), portBase === 29_000 ? 'test-stack' : `test-stack-${portBase}`),
    kafkaPort: portBase + 92,
    kafkaControllerPort: portBase + 93,
    elasticsearchPort: portBase + 200,
    elasticsearchTransportPort: portBase + 300,
    log,
  })
  const prefix = `run-${Date.now().toString(36)}.`
  const names = {
    KAFKA_TOPIC: `${prefix}purchases`,
    KAFKA_DEAD_LETTER_TOPIC: `${prefix}purchases.dead-letter`,
    KAFKA_CONSUMER_GROUP: `${prefix}purchases-indexer`,
    ELASTICSEARCH_INDEX: `purchases-${prefix.slice(0, -1)}`,
  }
  const env = Object.fromEntries(
    (['api', 'consumer', 'setup', 'admin'] as const).map(
      (identity): [string, Record<string, string>] => [
        identity,
        { ...appEnvironment(stack, identity), ...names },
      ],
    ),
  ) as Record<StackIdentity, Record<string, string>>
  const adminConfig = loadConfig(env.admin)
  const kafka = await createKafkaBroker(adminConfig, createLogger('warn', 'test-setup')).admin()
  await kafka.ensureTopics(topicSpecs(adminConfig, 3, 1))
  await kafka.disconnect()
  log(`granting the app's identities their ACLs on ${prefix}*`)
  await stack.kafka.grantAcls(prefix)
  await setUpStore(loadConfig(env.setup), createLogger('warn', 'test-setup'))
  project.provide('appEnv', env)

  return async () => {
    // The stack's data outlives the run (warm starts); this run's topics, ACLs and index do not.
    const kafka = await createKafkaBroker(
      adminConfig,
      createLogger('warn', 'test-teardown'),
    ).admin()
    await kafka
      .deleteTopics([adminConfig.KAFKA_TOPIC, adminConfig.KAFKA_DEAD_LETTER_TOPIC])
      .catch(() => {})
    await kafka.disconnect()
    await stack.kafka.revokeAcls(prefix).catch(() => {})
    const elasticsearch = createElasticsearchClient(adminConfig)
    await elasticsearch.indices.delete(
      { index: adminConfig.ELASTICSEARCH_INDEX },
      { ignore: [404] },
    )
    await elasticsearch.indices.deleteIndexTemplate(
      { name: `${adminConfig.ELASTICSEARCH_INDEX}-template` },
      { ignore: [404] },
    )
    await elasticsearch.close()
    await stack.stop()
  }
}
