/**
 * Starts the real Kafka and Elasticsearch once per test run (fetched on first use) and gives
 * this run its own topics, consumer group and index, so runs never see each other's data.
 */
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { loadConfig } from '../../runtime/config.ts'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { topicSpecs } from '../../runtime/kafka/topics.ts'
import { createLogger } from '../../runtime/logger.ts'
import { appEnvironment } from '../../scripts/local-stack/app-env.ts'
import { cacheDir } from '../../scripts/local-stack/fetch.ts'
import { startStack } from '../../scripts/local-stack/stack.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    appEnv: Record<string, string>
  }
}

// Two checkouts can test at once when each sets its own ICECREAM_TEST_PORT_BASE (default 29000).
const portBase = Number(process.env.ICECREAM_TEST_PORT_BASE || 29_000)

export default async function setup(project: TestProject) {
  const stack = await startStack({
    dataDir: join(cacheDir(), portBase === 29_000 ? 'test-stack' : `test-stack-${portBase}`),
    kafkaPort: portBase + 92,
    kafkaControllerPort: portBase + 93,
    elasticsearchPort: portBase + 200,
    elasticsearchTransportPort: portBase + 300,
    log: (line) => process.stderr.write(`[test stack] ${line}\n`),
  })
  const run = `run-${Date.now().toString(36)}`
  const env = {
    ...appEnvironment(stack),
    KAFKA_NAME_PREFIX: `${run}.`,
    ELASTICSEARCH_INDEX: `purchases-${run}`,
  }
  const config = loadConfig(env)
  const topics = topicSpecs(config.KAFKA_NAME_PREFIX, stack.kafka.brokers.length)
  const admin = await createKafkaClient(config, createLogger('warn', 'test-setup')).admin()
  await admin.ensureTopics(topics)
  await admin.disconnect()
  project.provide('appEnv', env)

  return async () => {
    // The stack's data outlives the run (warm starts); this run's topics and index do not.
    const kafka = await createKafkaClient(config, createLogger('warn', 'test-teardown')).admin()
    await kafka.deleteTopics(topics.map((topic) => topic.name)).catch(() => {})
    await kafka.disconnect()
    const elasticsearch = createElasticsearchClient(config)
    await elasticsearch.indices.delete({ index: config.ELASTICSEARCH_INDEX }, { ignore: [404] })
    await elasticsearch.indices.deleteIndexTemplate(
      { name: `${config.ELASTICSEARCH_INDEX}-template` },
      { ignore: [404] },
    )
    await elasticsearch.close()
    await stack.stop()
  }
}
