/**
 * `npm run bench`: what the queue costs and what it buys, measured on this machine in one run
 * (about 4-7 minutes). Starts its own Kafka and Elasticsearch (ports 39092/39093/39200/39300,
 * data in <cache>/bench-stack), gives the run its own topics and indices, measures each figure
 * against its ceiling (each Kafka-bound one with every Kafka adapter), prints a markdown table
 * and writes it to bench/results/latest.md.
 * bench/README.md explains the rows. BENCH_MESSAGES (50000) and BENCH_LOAD_SECONDS (15)
 * shorten a trial run.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { toPurchase } from '../handlers/purchase.ts'
import storePurchases from '../handlers/subscribers/store-purchases.ts'
import { topics } from '../handlers/topics.ts'
import type { Config } from '../runtime/config.ts'
import {
  createElasticsearchClient,
  createElasticsearchStore,
} from '../runtime/elasticsearch/store.ts'
import { createKafkaClient } from '../runtime/kafka/index.ts'
import { kafkaName } from '../runtime/kafka/topics.ts'
import { createLogger } from '../runtime/logger.ts'
import { cacheDir } from '../scripts/local-stack/fetch.ts'
import { startHarness } from '../scripts/local-stack/harness.ts'
import type { RunningStack } from '../scripts/local-stack/stack.ts'
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
// The bench's Java topic is shaped like the app's.
const partitions = topics.purchases.partitions
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

type Adapter = Config['KAFKA_CLIENT']
// Every adapter behind the Kafka port, as the table names it; each Kafka-bound row runs with each.
const adapterNames: Record<Adapter, string> = {
  kafkajs: 'kafkajs',
  platformatic: '@platformatic/kafka',
}
const adapters = Object.keys(adapterNames) as Adapter[]
/** One stage for every adapter in turn, before the next stage: both see the same machine load. */
async function eachAdapter<T>(
  stage: (adapter: Adapter) => Promise<T>,
): Promise<Record<Adapter, T>> {
  const results: Partial<Record<Adapter, T>> = {}
  for (const adapter of adapters) results[adapter] = await stage(adapter)
  return results as Record<Adapter, T>
}

// Each adapter's own topics and group (what its (a) fills and its (d) drains: a known number of
// valid events) under a name prefix of its own; the API processes publish under another one.
// The Java topic and the bulk index are the run's, which the harness deletes with the rest.
const names = {
  adapterPrefix: (adapter: Adapter) => `${run}-${adapter}.`,
  apiPrefix: `${run}-api.`,
  javaTopic: `${run}-java`,
  bulkIndex: `${run}-bulk`,
}
const harness = startHarness({
  dataDir,
  ports,
  run: {
    name: run,
    topics: [{ name: names.javaTopic, partitions, replicationFactor: 1 }],
    indices: [names.bulkIndex],
  },
  log: say,
})
cleanups.push(() => harness.stop())

async function measure(stack: RunningStack, config: Config): Promise<void> {
  const logger = createLogger('warn', 'bench')
  // Polls (d)'s lag, whichever adapter the consumer runs.
  const admin = await createKafkaClient(config, logger).admin()
  cleanups.push(() => admin.disconnect())

  // Each adapter produces and drains events of its own: the consumers store into the same index,
  // where the same ids again would be overwrites rather than new documents.
  const freshEvents = () => Array.from({ length: messages + batchSize }, purchaseEvent)
  const sample = freshEvents()
  const bytes = sample.reduce((sum, event) => sum + JSON.stringify(event).length, 0)
  const messageBytes = Math.round(bytes / sample.length)
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
      sample.slice(0, 1000).map((event) => JSON.stringify(event)),
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
  const raw = await eachAdapter(async (adapter) => {
    say(
      `a. ${adapter} producer adapter: ${messages} messages in sequential batches of ${batchSize} (up to ${bounds.produceMs / 1000} s)`,
    )
    const topic = kafkaName(names.adapterPrefix(adapter), storePurchases.topic)
    const producer = await createKafkaClient(
      { ...config, KAFKA_CLIENT: adapter },
      logger,
    ).producer()
    cleanups.push(() => producer.disconnect())
    const events = freshEvents()
    // One batch first: connection, metadata and producer id are not the figure.
    await producer.send([
      {
        topic,
        messages: events
          .slice(0, batchSize)
          .map((e) => ({ key: e.shop_id, value: JSON.stringify(e) })),
      },
    ])
    const result = await rawProduce(
      producer,
      topic,
      events.slice(batchSize),
      batchSize,
      bounds.produceMs,
      say,
    )
    cut(`(a) with ${adapter}`, result)
    say(`a. ${adapter}: ${Math.round(result.perSecond)} msg/s`)
    return result
  })

  // h
  say(`h. the HTTP ceiling: a bare node:http server under the same load`)
  const bare = await harness.start({
    role: 'api',
    name: 'bare HTTP server',
    port: ports.api,
    output: join(logsDir, 'bench-bare-http.log'),
    entry: 'bench/bare-http.ts',
  })
  await loadApi(bare.url, connections, 3, say)
  const http = await loadApi(bare.url, connections, loadSeconds, say)
  await bare.stop()
  say(`h. ${Math.round(http.perSecond)} 2xx/s, p50 ${http.p50} ms, p99 ${http.p99} ms`)

  // b, c
  const loadTheApi = async (
    label: 'b' | 'c',
    mode: string,
    adapter: Adapter,
    env: Record<string, string>,
  ): Promise<LoadResult> => {
    say(`${label}. starting the API process with ${adapter} (${mode})`)
    const logFile = join(logsDir, `bench-api-${label}-${adapter}.log`)
    const api = await harness.start({
      role: 'api',
      port: ports.api,
      env: { KAFKA_CLIENT: adapter, KAFKA_NAME_PREFIX: names.apiPrefix, ...env },
      output: logFile,
    })
    say(`${label}. warm-up: ${connections} connections for 3 s`)
    await loadApi(api.url, connections, 3, say)
    say(`${label}. POST /purchases from ${connections} connections for ${loadSeconds} s`)
    const result = await loadApi(api.url, connections, loadSeconds, say)
    say(
      `${label}. ${adapter}: ${Math.round(result.perSecond)} 2xx/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
        `${result.non2xx} non-2xx, ${result.errors} errors`,
    )
    if (result.non2xx > 0 || result.errors > 0) {
      notes.push(
        `(${label}) with ${adapter} answered ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodes)}) and ` +
          `had ${result.errors} connection errors or timeouts; see ${logFile}.`,
      )
    }
    await api.stop()
    return result
  }
  const loads = {
    batched: await eachAdapter((adapter) =>
      loadTheApi(
        'b',
        `batched: linger ${config.PUBLISH_LINGER_MS} ms, up to ${config.PUBLISH_MAX_BATCH} per produce`,
        adapter,
        {},
      ),
    ),
    unbatched: await eachAdapter((adapter) =>
      loadTheApi('c', 'one produce per request', adapter, {
        PUBLISH_MAX_BATCH: '1',
        PUBLISH_LINGER_MS: '0',
      }),
    ),
  }

  // d
  const drain = await eachAdapter(async (adapter) => {
    say(
      `d. ${adapter} consumer on a fresh group over ${messages + batchSize} events (up to ${bounds.drainMs / 1000} s)`,
    )
    const prefix = names.adapterPrefix(adapter)
    const result = await drainConsumer(
      admin,
      kafkaName(prefix, storePurchases.group),
      kafkaName(prefix, storePurchases.topic),
      () =>
        harness.start({
          role: 'consumer',
          port: ports.consumer,
          env: { KAFKA_CLIENT: adapter, KAFKA_NAME_PREFIX: prefix },
          output: join(logsDir, `bench-consumer-${adapter}.log`),
        }),
      bounds.drainMs,
      say,
    )
    cut(`(d) with ${adapter}`, result)
    say(
      `d. ${adapter}: ${Math.round(result.perSecond)} events/s after ${result.startupSeconds.toFixed(1)} s to the first commit`,
    )
    return result
  })

  // e
  say(
    `e. the store's bulk write: ${sample.length} documents in chunks of ${bulkChunk} (up to ${bounds.bulkMs / 1000} s)`,
  )
  const store = createElasticsearchStore(createElasticsearchClient(config), names.bulkIndex)
  cleanups.push(() => store.close())
  await store.setup()
  const bulk = await bulkCeiling(store, sample.map(toPurchase), bulkChunk, bounds.bulkMs, say)
  cut('(e)', bulk)
  say(`e. ${Math.round(bulk.perSecond)} docs/s`)

  if (java) {
    rows.push({
      measurement: `a0. Kafka ProducerPerformance (Java), ${messages} msgs, acks=all, idempotent`,
      figure: java.perSecond,
      unit: 'msg/s',
      ratio: 'ceiling (Java client)',
    })
  }
  for (const adapter of adapters) {
    rows.push({
      measurement: `a. ${adapterNames[adapter]} producer adapter, sequential batches of ${batchSize}`,
      figure: raw[adapter].perSecond,
      unit: 'msg/s',
      ratio: java
        ? `${ratio(raw[adapter].perSecond, java.perSecond)} of a0; ceiling for its b, c`
        : 'ceiling for its b, c',
    })
  }
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
    for (const adapter of adapters) {
      const result = loads[mode][adapter]
      rows.push(
        {
          measurement: `${letter}. ${label}, ${adapterNames[adapter]}, ${connections} connections, ${loadSeconds} s`,
          figure: result.perSecond,
          unit: '2xx req/s',
          ratio: `${ratio(result.perSecond, raw[adapter].perSecond)} of its a, ${ratio(result.perSecond, http.perSecond)} of h`,
        },
        {
          measurement: `${letter}. ${adapterNames[adapter]}: latency of 2xx, p50 / p99`,
          figure: `${result.p50} / ${result.p99}`,
          unit: 'ms',
          ratio: '',
        },
        {
          measurement: `${letter}. ${adapterNames[adapter]}: non-2xx answers / errors`,
          figure: `${result.non2xx} / ${result.errors}`,
          unit: 'count',
          ratio: '',
        },
      )
    }
  }
  for (const adapter of adapters) {
    const result = drain[adapter]
    rows.push({
      measurement: `d. ${adapterNames[adapter]} consumer drains ${result.events} events (first commit after ${result.startupSeconds.toFixed(1)} s)`,
      figure: result.perSecond,
      unit: 'events/s',
      ratio: `${ratio(result.perSecond, bulk.perSecond)} of e`,
    })
  }
  rows.push({
    measurement: `e. store bulk write, ${bulk.count} docs in sequential chunks of ${bulkChunk}`,
    figure: bulk.perSecond,
    unit: 'docs/s',
    ratio: 'ceiling for d',
  })
  notes.unshift(
    `Batching buys ${adapters
      .map(
        (adapter) =>
          `${(loads.batched[adapter].perSecond / loads.unbatched[adapter].perSecond).toFixed(1)}x with ${adapterNames[adapter]}`,
      )
      .join(', ')}: (b) / (c).`,
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
  const { stack, config } = await harness.ready
  for (const prefix of [...adapters.map(names.adapterPrefix), names.apiPrefix]) {
    await harness.addNames(prefix)
  }
  await measure(stack, config)
  await finish(0)
} catch (error) {
  // After Ctrl-C the measurement fails on purpose: no need to say so.
  if (!finishing) {
    say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  }
  await finish(1)
}
