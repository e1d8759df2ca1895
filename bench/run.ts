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
// The run's own topics (what (a) produces and (d) drains: a known number of valid events), group
// and index come from the harness; the API processes publish under a name prefix of their own.
const names = { apiPrefix: `${run}-api.`, javaTopic: `${run}-java`, bulkIndex: `${run}-bulk` }
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
  const broker = createKafkaClient(config, createLogger('warn', 'bench'))
  const topic = kafkaName(config.KAFKA_NAME_PREFIX, storePurchases.topic)
  const admin = await broker.admin()
  cleanups.push(() => admin.disconnect())

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
      topic,
      messages: events
        .slice(0, batchSize)
        .map((e) => ({ key: e.shop_id, value: JSON.stringify(e) })),
    },
  ])
  const raw = await rawProduce(
    producer,
    topic,
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
    const logFile = join(logsDir, `bench-api-${label}.log`)
    const api = await harness.start({
      role: 'api',
      port: ports.api,
      env: { KAFKA_NAME_PREFIX: names.apiPrefix, ...env },
      output: logFile,
    })
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
          `had ${result.errors} connection errors or timeouts; see ${logFile}.`,
      )
    }
    await api.stop()
    return result
  }
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

  const loads = {
    batched: await loadTheApi(
      'b',
      `batched: linger ${config.PUBLISH_LINGER_MS} ms, up to ${config.PUBLISH_MAX_BATCH} per produce`,
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
  const drain = await drainConsumer(
    admin,
    kafkaName(config.KAFKA_NAME_PREFIX, storePurchases.group),
    topic,
    () =>
      harness.start({
        role: 'consumer',
        port: ports.consumer,
        output: join(logsDir, 'bench-consumer.log'),
      }),
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
  const store = createElasticsearchStore(createElasticsearchClient(config), names.bulkIndex)
  cleanups.push(() => store.close())
  await store.setup()
  const bulk = await bulkCeiling(store, events.map(toPurchase), bulkChunk, bounds.bulkMs, say)
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
  const { stack, config } = await harness.ready
  await harness.addNames(names.apiPrefix)
  await measure(stack, config)
  await finish(0)
} catch (error) {
  // After Ctrl-C the measurement fails on purpose: no need to say so.
  if (!finishing) {
    say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  }
  await finish(1)
}
