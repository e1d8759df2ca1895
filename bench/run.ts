/**
 * `npm run bench`: what the queue costs and what it buys, measured on this machine in one run
 * (about 4 minutes). Starts its own Kafka and Elasticsearch (ports 39092/39093/39200/39300, data
 * in <cache>/bench-stack), gives the run its own topics and indices, measures each figure
 * against its ceiling, prints a markdown table and writes it to bench/results/latest.md.
 * bench/README.md explains the rows. BENCH_MESSAGES (50000) and BENCH_LOAD_SECONDS (15)
 * shorten a trial run.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { toDocument } from '../handlers/purchase.ts'
import { loadConfig } from '../runtime/config.ts'
import {
  createElasticsearchClient,
  createElasticsearchStore,
} from '../runtime/elasticsearch/store.ts'
import { createKafkaBroker } from '../runtime/kafka/kafkajs.ts'
import { topicSpecs } from '../runtime/kafka/topics.ts'
import { createLogger } from '../runtime/logger.ts'
import { appEnvironment } from '../scripts/local-stack/app-env.ts'
import { cacheDir } from '../scripts/local-stack/fetch.ts'
import { assertPortFree } from '../scripts/local-stack/proc.ts'
import { type RunningStack, startStack } from '../scripts/local-stack/stack.ts'
import { startApp } from './app-process.ts'
import {
  bulkCeiling,
  drainConsumer,
  type LoadResult,
  loadApi,
  producerPerformance,
  type Rate,
  rawProduce,
} from './measure.ts'
import { purchaseEvent } from './purchases.ts'
import { type Row, renderReport } from './report.ts'

const count = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`)
  return value
}
const messages = count('BENCH_MESSAGES', 50_000)
const loadSeconds = count('BENCH_LOAD_SECONDS', 15)
const batchSize = 500
const connections = 64
const bulkChunk = 1_000
const partitions = 6
const ports = { kafka: 39092, elasticsearch: 39200, api: 39080, consumer: 39081 }
// Each measurement stops at its bound and says so, rather than running on.
const bounds = { produceMs: 60_000, javaMs: 120_000, drainMs: 180_000, bulkMs: 120_000 }

/** Two decimals, or two significant digits for the tiny ratios unbatched produces give. */
const ratio = (part: number, whole: number) => {
  const value = part / whole
  return value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)
}

const began = performance.now()
const say = (line: string) => {
  const seconds = String(Math.round((performance.now() - began) / 1000)).padStart(3)
  process.stderr.write(`[bench ${seconds} s] ${line}\n`)
}

// Run in reverse order of registration at the end, on failure and on Ctrl-C.
const cleanups: (() => Promise<unknown>)[] = []
let finishing: Promise<never> | undefined
function finish(code: number): Promise<never> {
  finishing ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => say(`cleanup failed: ${String(error)}`))
    }
    say(`done in ${Math.round((performance.now() - began) / 1000)} s`)
    process.exit(code)
  })()
  return finishing
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (finishing) {
      say('second interrupt: exiting now (the next run stops the stack it left behind)')
      process.exit(130)
    }
    say(`${signal}: stopping the app processes and the stack (Ctrl-C again to exit at once)`)
    void finish(130)
  })
}

const dataDir = join(cacheDir(), 'bench-stack')
const logsDir = join(dataDir, 'logs')
const run = `bench-${Date.now().toString(36)}`
const names = {
  apiTopic: `purchases-${run}`,
  rawTopic: `purchases-${run}-raw`,
  javaTopic: `purchases-${run}-java`,
  index: `purchases-${run}`,
  bulkIndex: `purchases-${run}-bulk`,
  group: `indexer-${run}`,
}

async function measure(stack: RunningStack): Promise<void> {
  const stackEnv = appEnvironment(stack, 'admin')
  const apiEnv = {
    ...stackEnv,
    ROLE: 'api',
    KAFKA_TOPIC: names.apiTopic,
    KAFKA_DEAD_LETTER_TOPIC: `${names.apiTopic}.dead-letter`,
    ELASTICSEARCH_INDEX: names.index,
  }
  // The consumer drains what (a) produced: a known number of valid events.
  const consumerEnv = {
    ...stackEnv,
    ROLE: 'consumer',
    KAFKA_TOPIC: names.rawTopic,
    KAFKA_DEAD_LETTER_TOPIC: `${names.rawTopic}.dead-letter`,
    KAFKA_CONSUMER_GROUP: names.group,
    ELASTICSEARCH_INDEX: names.index,
  }
  const apiConfig = loadConfig(apiEnv)
  const consumerConfig = loadConfig(consumerEnv)
  const broker = createKafkaBroker(apiConfig, createLogger('warn', 'bench'))
  const admin = await broker.admin()
  cleanups.push(() => admin.disconnect())
  say(`creating topics (${partitions} partitions) for run ${run}`)
  await admin.ensureTopics([
    ...topicSpecs(apiConfig, partitions, 1),
    ...topicSpecs(consumerConfig, partitions, 1),
    { name: names.javaTopic, partitions, replicationFactor: 1 },
  ])
  const client = createElasticsearchClient(apiConfig)
  cleanups.push(async () => {
    say(`deleting the run's topics and indices`)
    await admin
      .deleteTopics([
        names.apiTopic,
        `${names.apiTopic}.dead-letter`,
        names.rawTopic,
        `${names.rawTopic}.dead-letter`,
        names.javaTopic,
      ])
      .catch(() => {})
    for (const index of [names.index, names.bulkIndex]) {
      await client.indices.delete({ index }, { ignore: [404] })
      await client.indices.deleteIndexTemplate({ name: `${index}-template` }, { ignore: [404] })
    }
    await client.close()
  })

  const events = Array.from({ length: messages + batchSize }, purchaseEvent)
  const bytes = events.reduce((sum, event) => sum + JSON.stringify(event).length, 0)
  const messageBytes = Math.round(bytes / events.length)
  const rows: Row[] = []
  const notes: string[] = []
  const cut = (what: string, result: Rate) => {
    if (result.cutShort) notes.push(`${what} hit its time bound after ${result.count} items.`)
  }

  // a0
  say(
    `a0. Kafka's ProducerPerformance: ${messages} messages of ~${messageBytes} B (up to ${bounds.javaMs / 1000} s)`,
  )
  let java: Rate | undefined
  try {
    java = await producerPerformance(
      stack,
      names.javaTopic,
      events.slice(0, 1000).map((event) => JSON.stringify(event)),
      messages,
      logsDir,
      bounds.javaMs,
      say,
    )
    say(`a0. ${Math.round(java.perSecond)} msg/s`)
  } catch (error) {
    say(`a0. skipped: ${String(error)}`)
    notes.push(`ProducerPerformance did not run: ${String(error).split('\n')[0]}`)
  }

  // a
  say(
    `a. kafkajs producer adapter: ${messages} messages in sequential batches of ${batchSize} (up to ${bounds.produceMs / 1000} s)`,
  )
  const producer = await broker.producer()
  cleanups.push(() => producer.disconnect())
  // One batch first: connection, metadata and producer id are not the figure.
  await producer.send([
    {
      topic: names.rawTopic,
      messages: events
        .slice(0, batchSize)
        .map((e) => ({ key: e.shop_id, value: JSON.stringify(e) })),
    },
  ])
  const raw = await rawProduce(
    producer,
    names.rawTopic,
    events.slice(batchSize),
    batchSize,
    bounds.produceMs,
    say,
  )
  cut('(a)', raw)
  say(`a. ${Math.round(raw.perSecond)} msg/s`)

  // b, c
  const loadTheApi = async (
    label: 'b' | 'c',
    mode: string,
    env: Record<string, string>,
  ): Promise<LoadResult> => {
    say(`${label}. starting the API process (${mode})`)
    await assertPortFree(ports.api, 'bench API port')
    const api = await startApp(
      { ...apiEnv, ...env },
      ports.api,
      join(logsDir, `bench-api-${label}.log`),
      (stop) => cleanups.push(stop),
    )
    say(`${label}. warm-up: ${connections} connections for 3 s`)
    await loadApi(api.url, connections, 3, say)
    say(`${label}. POST /purchases from ${connections} connections for ${loadSeconds} s`)
    const result = await loadApi(api.url, connections, loadSeconds, say)
    say(
      `${label}. ${Math.round(result.perSecond)} 2xx/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
        `${result.non2xx} non-2xx, ${result.errors} errors`,
    )
    if (result.non2xx > 0 || result.errors > 0) {
      notes.push(
        `(${label}) answered ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodes)}) and ` +
          `had ${result.errors} connection errors or timeouts; see ${api.logFile}.`,
      )
    }
    await api.stop()
    return result
  }
  say(`h. the HTTP ceiling: a bare node:http server under the same load`)
  await assertPortFree(ports.api, 'bench API port')
  const bare = await startApp(
    {},
    ports.api,
    join(logsDir, 'bench-bare-http.log'),
    (stop) => cleanups.push(stop),
    'bench/bare-http.ts',
  )
  await loadApi(bare.url, connections, 3, say)
  const http = await loadApi(bare.url, connections, loadSeconds, say)
  await bare.stop()
  say(`h. ${Math.round(http.perSecond)} 2xx/s, p50 ${http.p50} ms, p99 ${http.p99} ms`)

  const loads = {
    batched: await loadTheApi(
      'b',
      `batched: linger ${apiConfig.PUBLISH_LINGER_MS} ms, up to ${apiConfig.PUBLISH_MAX_BATCH} per produce`,
      {},
    ),
    unbatched: await loadTheApi('c', 'one produce per request', {
      PUBLISH_MAX_BATCH: '1',
      PUBLISH_LINGER_MS: '0',
    }),
  }

  // d
  say(
    `d. consumer on a fresh group over ${messages + batchSize} events (up to ${bounds.drainMs / 1000} s)`,
  )
  await assertPortFree(ports.consumer, 'bench consumer port')
  const drain = await drainConsumer(
    admin,
    names.group,
    names.rawTopic,
    () =>
      startApp(consumerEnv, ports.consumer, join(logsDir, 'bench-consumer.log'), (stop) =>
        cleanups.push(stop),
      ),
    bounds.drainMs,
    say,
  )
  cut('(d)', drain)
  say(
    `d. ${Math.round(drain.perSecond)} events/s after ${drain.startupSeconds.toFixed(1)} s to the first commit`,
  )

  // e
  say(
    `e. the store's bulk write: ${events.length} documents in chunks of ${bulkChunk} (up to ${bounds.bulkMs / 1000} s)`,
  )
  const store = createElasticsearchStore(createElasticsearchClient(apiConfig), names.bulkIndex)
  cleanups.push(() => store.close())
  await store.setup()
  const bulk = await bulkCeiling(store, events.map(toDocument), bulkChunk, bounds.bulkMs, say)
  cut('(e)', bulk)
  say(`e. ${Math.round(bulk.perSecond)} docs/s`)

  rows.push(
    ...(java
      ? [
          {
            measurement: `a0. Kafka ProducerPerformance (Java), ${messages} msgs, acks=all, idempotent`,
            figure: java.perSecond,
            unit: 'msg/s',
            ratio: 'ceiling (Java client)',
          },
        ]
      : []),
    {
      measurement: `a. kafkajs producer adapter, sequential batches of ${batchSize}`,
      figure: raw.perSecond,
      unit: 'msg/s',
      ratio: java
        ? `${ratio(raw.perSecond, java.perSecond)} of a0; ceiling for b, c`
        : 'ceiling for b, c',
    },
  )
  rows.push({
    measurement: `h. bare node:http server (reads the body, answers 202), ${connections} connections, ${loadSeconds} s`,
    figure: http.perSecond,
    unit: 'req/s',
    ratio: 'HTTP ceiling for b, c',
  })
  for (const [mode, letter, label] of [
    ['batched', 'b', 'API, batched'],
    ['unbatched', 'c', 'API, one produce per request'],
  ] as const) {
    const result = loads[mode]
    rows.push(
      {
        measurement: `${letter}. ${label}, ${connections} connections, ${loadSeconds} s`,
        figure: result.perSecond,
        unit: '2xx req/s',
        ratio: `${ratio(result.perSecond, raw.perSecond)} of a, ${ratio(result.perSecond, http.perSecond)} of h`,
      },
      {
        measurement: `${letter}. latency of 2xx, p50 / p99`,
        figure: `${result.p50} / ${result.p99}`,
        unit: 'ms',
        ratio: '',
      },
      {
        measurement: `${letter}. non-2xx answers / errors`,
        figure: `${result.non2xx} / ${result.errors}`,
        unit: 'count',
        ratio: '',
      },
    )
  }
  rows.push(
    {
      measurement: `d. consumer drains ${drain.events} events (first commit after ${drain.startupSeconds.toFixed(1)} s)`,
      figure: drain.perSecond,
      unit: 'events/s',
      ratio: `${ratio(drain.perSecond, bulk.perSecond)} of e`,
    },
    {
      measurement: `e. store bulk write, ${bulk.count} docs in sequential chunks of ${bulkChunk}`,
      figure: bulk.perSecond,
      unit: 'docs/s',
      ratio: 'ceiling for d',
    },
  )
  notes.unshift(
    `Batching buys ${(loads.batched.perSecond / loads.unbatched.perSecond).toFixed(1)}x: (b) / (c).`,
  )

  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const report = renderReport(rows, notes, [
    `Date: ${new Date().toISOString()}`,
    `Machine: ${availableParallelism()} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB; load average ${loadavg()[0]?.toFixed(1)} at the end (others may share the machine)`,
    `Node ${process.version}, Kafka ${stack.versions.kafka} (1 node, SASL SCRAM-SHA-512), Elasticsearch ${stack.versions.elasticsearch} (1 node, HTTPS)`,
    `Messages: purchase JSON, ~${messageBytes} B each, keyed by shop, ${partitions} partitions; run time ${Math.round((performance.now() - began) / 1000)} s`,
  ])
  process.stdout.write(`\n${report}`)
  const resultsDir = join(import.meta.dirname, 'results')
  await mkdir(resultsDir, { recursive: true })
  await writeFile(join(resultsDir, 'latest.md'), report)
  // The README shows the latest table too, between its bench markers.
  const readmeFile = join(import.meta.dirname, '..', 'README.md')
  const readme = await readFile(readmeFile, 'utf8')
  const block = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/
  await writeFile(
    readmeFile,
    readme.replace(
      block,
      () => `<!-- bench:start -->\n${report.replace(/^# .*\n\n/, '')}<!-- bench:end -->`,
    ),
  )
  say('wrote bench/results/latest.md and the table in README.md')
}

try {
  say(`starting Kafka and Elasticsearch in ${dataDir} (about 30-60 s)`)
  const starting = startStack({
    dataDir,
    kafkaPort: ports.kafka,
    kafkaControllerPort: ports.kafka + 1,
    elasticsearchPort: ports.elasticsearch,
    elasticsearchTransportPort: ports.elasticsearch + 100,
    log: (line) => say(`stack: ${line}`),
  })
  // Registered before it resolves, so Ctrl-C during start still stops what started.
  cleanups.push(async () => {
    const stack = await starting.catch(() => undefined)
    if (!stack) return
    say('stopping Kafka and Elasticsearch')
    await stack.stop()
  })
  await measure(await starting)
  await finish(0)
} catch (error) {
  say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  await finish(1)
}
