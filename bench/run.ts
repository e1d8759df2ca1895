/**
 * `npm run bench`: what the queue costs and what it buys, measured on this machine in one run
 * (about 17 minutes on 2 cores). Starts its own Kafka and Elasticsearch, gives the run its own topics and
 * indices, and measures in paired rounds: each measurement and its ceiling alternately, round
 * after round, each Kafka-bound one with every Kafka adapter. Writes bench/results/latest.json,
 * the markdown table rendered from it (latest.md, docs/benchmarks.md's bench block) and SVG charts.
 * bench/README.md explains the rows and the variables that shorten a run or pick its sections.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import type { PurchaseEvent } from '../handlers/purchase.ts'
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
import { createPurchaseGenerator } from '../runtime/load/purchases.ts'
import { createLogger } from '../runtime/logger.ts'
import { cacheDir } from '../scripts/local-stack/fetch.ts'
import { type AppProcess, type ProcessSpec, startHarness } from '../scripts/local-stack/harness.ts'
import type { RunningStack } from '../scripts/local-stack/stack.ts'
import { measureBuffering } from './buffering.ts'
import { flameGraph } from './charts.ts'
import { measureFreshness } from './freshness.ts'
import {
  bulkCeiling,
  drainConsumer,
  endToEndLatency,
  loadApi,
  type Percentiles,
  producerPerformance,
  rawProduce,
} from './measure.ts'
import { watchMemory } from './memory.ts'
import { type Dataset, datasetIndex, ensureDataset, loadQueries } from './queries.ts'
import { resultsDir, writeOutputs } from './render.ts'
import type { Results, Target } from './report.ts'
import { pairedRatio, sampleLoad, spread } from './rounds.ts'

const count = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`)
  return value
}
const sectionNames = ['throughput', 'freshness', 'queries', 'buffering'] as const
type Section = (typeof sectionNames)[number]
const sections = new Set(
  (process.env.BENCH_SECTIONS ?? sectionNames.join(',')).split(',').map((name) => {
    if (!sectionNames.includes(name as Section)) {
      throw new Error(`BENCH_SECTIONS lists ${name}; the sections are ${sectionNames.join(', ')}`)
    }
    return name as Section
  }),
)
const rounds = count('BENCH_ROUNDS', 3)
const messages = count('BENCH_MESSAGES', 50_000)
const loadSeconds = count('BENCH_LOAD_SECONDS', 10)
const freshnessSeconds = count('BENCH_FRESHNESS_SECONDS', 12)
const freshnessRates = (process.env.BENCH_FRESHNESS_RATES ?? '500,1000,5000')
  .split(',')
  .map((rate) => {
    const value = Number(rate)
    if (!Number.isInteger(value) || value < 1) {
      throw new Error('BENCH_FRESHNESS_RATES must be positive integers, comma-separated')
    }
    return value
  })
const dataset: Dataset = {
  seed: count('BENCH_SEED', 42),
  purchases: count('BENCH_DATASET_PURCHASES', 1_000_000),
  shops: 1_000,
  days: 90,
}
const bufferingSeconds = count('BENCH_BUFFERING_SECONDS', 60)
const portBase = count('BENCH_PORT_BASE', 39_000)
const profiling = process.env.BENCH_PROFILE === '1'
/** The consumers' DEMO_CONTROL_TOKEN: (d) pauses and resumes them over HTTP. */
const controlToken = randomBytes(24).toString('hex')
const batchSize = 500
const connections = 64
/**
 * One caller (a query's own time: the target's row) and sixteen (the cores shared by the API,
 * Elasticsearch and the callers: queueing shows).
 */
const queryConcurrencies = [1, 16] as const
const querySeconds = 5
const bulkChunk = 1_000
const partitions = topics.purchases.partitions
const ports = {
  kafka: portBase + 92,
  elasticsearch: portBase + 200,
  api: portBase + 80,
  consumer: portBase + 90,
}
// Each measurement stops at its bound and says so, rather than running on.
const bounds = {
  produceMs: 60_000,
  javaMs: 120_000,
  drainMs: 180_000,
  bulkMs: 120_000,
  bufferDrainMs: 180_000,
}
// The targets of issue 12; they hold on any machine.
const targets = {
  apiOfHttp: { op: '>=', value: 0.5 },
  apiOfProduce: { op: '>=', value: 0.5 },
  consumerOfBulk: { op: '>=', value: 0.8 },
  dayQueryP99Ms: { op: '<=', value: 50 },
  apiRssMiB: { op: '<=', value: 150 },
} satisfies Record<string, Target>

const began = performance.now()
const say = (line: string) => {
  const seconds = String(Math.round((performance.now() - began) / 1000)).padStart(4)
  process.stderr.write(`[bench ${seconds} s] ${line}\n`)
}
const load = sampleLoad(5_000, began)

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

const dataDir = join(cacheDir(), `bench-stack-${portBase}`)
const logsDir = join(dataDir, 'logs')
const profilesDir = join(resultsDir, 'profiles')
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

type ApiMode = 'batched' | 'unbatched'
/** One stage for each of the API's modes, batched first. */
async function eachMode<T>(
  stage: (mode: ApiMode, index: number) => Promise<T>,
): Promise<Record<ApiMode, T>> {
  return { batched: await stage('batched', 0), unbatched: await stage('unbatched', 1) }
}

// Each adapter's (a) fills and its (d) drains the topic and group under a prefix of its own; its
// end-to-end run and the buffering run reuse them once (d) has drained them (granting ACLs for a
// prefix takes Kafka's tool half a minute). The API rows publish under the run's own prefix,
// which nothing consumes.
const names = {
  adapterPrefix: (adapter: Adapter) => `${run}-${adapter}.`,
  javaTopic: `${run}-java`,
  javaLatencyTopic: `${run}-java-latency`,
  bulkIndex: `${run}-bulk`,
}
say('building the app as the image does (npm run build: dist/)')
execFileSync('npm', ['run', 'build', '--silent'], {
  cwd: join(import.meta.dirname, '..'),
  stdio: 'inherit',
})
const harness = startHarness({
  dataDir,
  ports,
  run: {
    name: run,
    topics: [
      { name: names.javaTopic, partitions, replicationFactor: 1 },
      { name: names.javaLatencyTopic, partitions: 1, replicationFactor: 1 },
    ],
    indices: [names.bulkIndex],
  },
  log: say,
})
cleanups.push(() => harness.stop())

/** App processes write a CPU profile each when BENCH_PROFILE=1 (on exit, into results/profiles). */
const repoRoot = join(import.meta.dirname, '..')
/** What `npm run build` makes and the image runs. */
const builtEntry = 'dist/runtime/main.js'

/** The chart's values, read once for every app process the run starts. */
const chartValues = parseYaml(readFileSync(join(repoRoot, 'chart', 'values.yaml'), 'utf8'))

/** Half the memory limit chart/values.yaml gives the role's container, in MiB. */
function chartHeapMiB(role: ProcessSpec['role']): number {
  const limit = String(chartValues?.[role]?.resources?.limits?.memory ?? '')
  const mebibytes = limit.endsWith('Gi')
    ? Number.parseFloat(limit) * 1024
    : Number.parseFloat(limit)
  if (!limit.match(/^\d+(Mi|Gi)$/))
    throw new Error(`chart/values.yaml: ${role}.resources.limits.memory is ${limit}`)
  return Math.floor(mebibytes / 2)
}

/**
 * An API or consumer process as the chart deploys it: the image's built JavaScript (`npm run
 * build`, no TypeScript loader), with the heap Node gives itself in the chart's container (half
 * of its memory limit), and CPU profiles when asked for.
 */
function startApp(spec: ProcessSpec): Promise<AppProcess> {
  const heapMiB = chartHeapMiB(spec.role)
  const profile = profiling ? ` --cpu-prof --cpu-prof-dir=${profilesDir}` : ''
  return harness.start({
    entry: builtEntry,
    ...spec,
    env: { ...spec.env, NODE_OPTIONS: `--max-old-space-size=${heapMiB}${profile}` },
  })
}

/** Runs `work` with an app process, stopping it after; answers the work and the process's peak RSS. */
async function withProcess<T>(
  started: Promise<AppProcess>,
  work: (app: AppProcess) => Promise<T>,
): Promise<{ result: T; peakMiB: number }> {
  const app = await started
  const memory = watchMemory(app.pid)
  try {
    const result = await work(app)
    return { result, peakMiB: await memory.stop() }
  } finally {
    await memory.stop()
    await app.stop()
  }
}

const results: Results = {
  date: new Date().toISOString(),
  machine: {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    versions: {},
    load: load.samples,
  },
  settings: {
    rounds,
    sections: [...sections].join(','),
    seed: dataset.seed,
    messages,
    loadSeconds,
    connections,
  },
  runSeconds: 0,
  rows: [],
  freshness: null,
  buffering: null,
  charts: [],
  notes: [],
}
const { rows, notes } = results
/**
 * Raw produce rate of each adapter (median of its rounds): the buffering run offers that much,
 * above what any consumer stores (a steady consumer outruns the drain (d) measures from a cold
 * start: offered 1.5x that, it kept up).
 */
const produceRates: Partial<Record<Adapter, number>> = {}

async function throughput(stack: RunningStack, config: Config): Promise<void> {
  const logger = createLogger('warn', 'bench')
  const admin = await createKafkaClient(config, logger).admin()
  cleanups.push(() => admin.disconnect())
  const producers = await eachAdapter(async (adapter) => {
    const producer = await createKafkaClient(
      { ...config, KAFKA_CLIENT: adapter },
      logger,
    ).producer()
    cleanups.push(() => producer.disconnect())
    return producer
  })
  // Each adapter's events from a generator of its own: fresh ids for every round, so each
  // consumer's documents are new ones, not overwrites.
  const eventSources = Object.fromEntries(
    adapters.map((adapter, index) => [
      adapter,
      createPurchaseGenerator({ seed: dataset.seed + 100 + index, days: 90 }),
    ]),
  ) as Record<Adapter, ReturnType<typeof createPurchaseGenerator>>
  const events = (adapter: Adapter, n: number): PurchaseEvent[] =>
    Array.from({ length: n }, () => {
      const input = eventSources[adapter].next()
      return { ...input, received_at: new Date().toISOString() }
    })
  const sample = events('kafkajs', 1_000)
  const messageBytes = Math.round(
    sample.reduce((sum, event) => sum + JSON.stringify(event).length, 0) / sample.length,
  )
  results.settings.messageBytes = messageBytes
  const apiInputs = createPurchaseGenerator({ seed: dataset.seed + 200 })
  const store = createElasticsearchStore(createElasticsearchClient(config), names.bulkIndex)
  cleanups.push(() => store.close())
  await store.setup()
  const bulkDocs = createPurchaseGenerator({ seed: dataset.seed + 300, days: 90 })

  const series = {
    java: [] as number[],
    http: [] as number[],
    bulk: [] as number[],
    raw: { kafkajs: [], platformatic: [] } as Record<Adapter, number[]>,
    drain: { kafkajs: [], platformatic: [] } as Record<Adapter, number[]>,
    drainStartup: { kafkajs: [], platformatic: [] } as Record<Adapter, number[]>,
    consumerMiB: { kafkajs: [], platformatic: [] } as Record<Adapter, number[]>,
  }
  const apiSeries = () => ({
    rate: [] as number[],
    p50: [] as number[],
    p99: [] as number[],
    refused: 0,
    rssMiB: [] as number[],
  })
  const api = {
    batched: { kafkajs: apiSeries(), platformatic: apiSeries() },
    unbatched: { kafkajs: apiSeries(), platformatic: apiSeries() },
  }
  let javaFailed: string | undefined

  // Every process of the section starts once, one after the other (started together on a
  // crowded machine, none was ready within the harness's bound); each round loads them in turn.
  // The consumers wait paused until their (d), and pause again after it.
  say('starting the bare HTTP server, four API processes and two consumers, one by one')
  const apiModes = {
    batched: { letter: 'b', env: {} },
    unbatched: { letter: 'c', env: { PUBLISH_MAX_BATCH: '1', PUBLISH_LINGER_MS: '0' } },
  } as const
  const inTurn = async <T>(items: T[], start: (item: T, at: number) => Promise<AppProcess>) => {
    const started: AppProcess[] = []
    for (const [at, item] of items.entries()) started.push(await start(item, at))
    return started
  }
  const bare = await harness.start({
    role: 'api',
    name: 'bare HTTP server',
    port: ports.api,
    output: join(logsDir, 'bench-bare-http.log'),
    entry: 'bench/bare-http.ts',
  })
  const apis = await eachMode((mode, index) =>
    inTurn(adapters, (adapter, at) =>
      startApp({
        role: 'api',
        name: `API ${mode} ${adapter}`,
        port: ports.api + 1 + 2 * index + at,
        env: { KAFKA_CLIENT: adapter, ...apiModes[mode].env },
        output: join(logsDir, `bench-api-${apiModes[mode].letter}-${adapter}.log`),
      }),
    ),
  )
  const consumers = await inTurn(adapters, (adapter, at) =>
    startApp({
      role: 'consumer',
      name: `consumer ${adapter}`,
      port: ports.consumer + at,
      env: {
        KAFKA_CLIENT: adapter,
        KAFKA_NAME_PREFIX: names.adapterPrefix(adapter),
        DEMO_CONTROLS: 'true',
        DEMO_CONTROL_TOKEN: controlToken,
      },
      output: join(logsDir, `bench-consumer-${adapter}.log`),
    }),
  )
  const processes = [bare, ...apis.batched, ...apis.unbatched, ...consumers]
  cleanups.push(() => Promise.all(processes.map((app) => app.stop())))
  const memory = new Map(processes.map((app) => [app, watchMemory(app.pid)]))
  // Paused between drains, so each (d) drains exactly what its round's (a) wrote.
  const control = async (consumer: AppProcess, action: 'pause' | 'resume') => {
    const response = await fetch(`${consumer.url}/consumer/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${controlToken}` },
    })
    if (!response.ok) {
      throw new Error(`${action} ${consumer.name}: ${response.status} ${await response.text()}`)
    }
  }
  await Promise.all(consumers.map((consumer) => control(consumer, 'pause')))

  for (let round = 1; round <= rounds; round++) {
    const tag = `[round ${round}/${rounds}]`
    // h
    say(
      `${tag} h. the HTTP ceiling: a bare node:http server, ${connections} connections, ${loadSeconds} s`,
    )
    await loadApi(bare.url, connections, 2, apiInputs.next, () => {})
    const http = await loadApi(bare.url, connections, loadSeconds, apiInputs.next, say)
    series.http.push(http.perSecond)
    say(`${tag} h. ${Math.round(http.perSecond)} 2xx/s`)

    // b, c
    await eachMode(async (mode, index) => {
      const { letter } = apiModes[mode]
      for (const [at, adapter] of adapters.entries()) {
        const app = apis[mode][at] as AppProcess
        say(
          `${tag} ${letter}. the API with ${adapter} (${mode}), ${connections} connections, ${loadSeconds} s`,
        )
        await loadApi(app.url, connections, 2, apiInputs.next, () => {})
        const result = await loadApi(app.url, connections, loadSeconds, apiInputs.next, say)
        const figures = api[mode][adapter]
        figures.rate.push(result.perSecond)
        figures.p50.push(result.p50)
        figures.p99.push(result.p99)
        figures.refused += result.non2xx + result.errors
        say(
          `${tag} ${letter}. ${adapter}: ${Math.round(result.perSecond)} 2xx/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
            `${result.non2xx} non-2xx, ${result.errors} errors`,
        )
        if (result.non2xx > 0 || result.errors > 0) {
          notes.push(
            `Round ${round}: (${letter}) with ${adapter} answered ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodes)}) and had ${result.errors} connection errors or timeouts; see the log of API ${index}.`,
          )
        }
      }
    })

    // a0
    if (!javaFailed) {
      say(`${tag} a0. Kafka's ProducerPerformance: ${messages} messages of ~${messageBytes} B`)
      try {
        const java = await producerPerformance(
          stack,
          names.javaTopic,
          sample.map((event) => JSON.stringify(event)),
          messages,
          logsDir,
          bounds.javaMs,
          say,
        )
        series.java.push(java.perSecond)
      } catch (error) {
        javaFailed = String(error).split('\n')[0]
        say(`a0. skipped from now on: ${String(error)}`)
        notes.push(`ProducerPerformance did not run: ${javaFailed}`)
      }
    }

    // a
    await eachAdapter(async (adapter) => {
      say(
        `${tag} a. the ${adapter} producer adapter: ${messages} messages in sequential batches of ${batchSize}`,
      )
      const topic = kafkaName(names.adapterPrefix(adapter), storePurchases.topic)
      const result = await rawProduce(
        producers[adapter],
        topic,
        events(adapter, messages),
        batchSize,
        bounds.produceMs,
        say,
      )
      if (result.cutShort) notes.push(`Round ${round}: (a) with ${adapter} hit its time bound.`)
      series.raw[adapter].push(result.perSecond)
      say(`${tag} a. ${adapter}: ${Math.round(result.perSecond)} msg/s`)
    })

    // d: each adapter's consumer, resumed, drains what this round's (a) of its adapter left
    for (const [at, adapter] of adapters.entries()) {
      say(`${tag} d. the consumer with ${adapter} drains its adapter's topic`)
      const prefix = names.adapterPrefix(adapter)
      const consumer = consumers[at] as AppProcess
      const result = await drainConsumer(
        admin,
        kafkaName(prefix, storePurchases.group),
        kafkaName(prefix, storePurchases.topic),
        async () => {
          await control(consumer, 'resume')
          return { stop: () => control(consumer, 'pause') }
        },
        bounds.drainMs,
        say,
      )
      if (result.cutShort) notes.push(`Round ${round}: (d) with ${adapter} hit its time bound.`)
      series.drain[adapter].push(result.perSecond)
      series.drainStartup[adapter].push(result.startupSeconds)
      say(
        `${tag} d. ${adapter}: ${Math.round(result.perSecond)} events/s over ${result.events} events`,
      )
    }

    // e
    say(`${tag} e. the store's bulk write: ${messages} documents in chunks of ${bulkChunk}`)
    const documents = Array.from({ length: messages }, () => {
      const input = bulkDocs.next()
      return toPurchase({ ...input, received_at: new Date().toISOString() })
    })
    const bulk = await bulkCeiling(store, documents, bulkChunk, bounds.bulkMs, say)
    if (bulk.cutShort) notes.push(`Round ${round}: (e) hit its time bound.`)
    series.bulk.push(bulk.perSecond)
    say(`${tag} e. ${Math.round(bulk.perSecond)} docs/s`)
  }

  for (const [at, adapter] of adapters.entries()) {
    api.batched[adapter].rssMiB.push(
      await (memory.get(apis.batched[at] as AppProcess)?.stop() ?? 0),
    )
    series.consumerMiB[adapter].push(await (memory.get(consumers[at] as AppProcess)?.stop() ?? 0))
  }
  await Promise.all(processes.map((app) => app.stop()))
  for (const adapter of adapters) produceRates[adapter] = spread(series.raw[adapter]).median
  if (series.java.length === rounds) {
    rows.push({
      id: 'a0',
      measurement: `Kafka ProducerPerformance (Java), ${messages} msgs, acks=all, idempotent`,
      unit: 'msg/s',
      figure: spread(series.java),
      ratios: [],
    })
  }
  for (const adapter of adapters) {
    rows.push({
      id: 'a',
      measurement: `${adapterNames[adapter]} producer adapter, sequential batches of ${batchSize}`,
      unit: 'msg/s',
      figure: spread(series.raw[adapter]),
      ratios:
        series.java.length === rounds
          ? [{ of: 'of a0', value: pairedRatio(series.raw[adapter], series.java) }]
          : [],
    })
  }
  rows.push({
    id: 'h',
    measurement: `bare node:http server (reads the body, answers 202), ${connections} connections`,
    unit: 'req/s',
    figure: spread(series.http),
    // The API cannot outrun the bare server: h over a bounds what b over a can reach.
    ratios: adapters.map((adapter) => ({
      of: `of ${adapterNames[adapter]} a`,
      value: pairedRatio(series.http, series.raw[adapter]),
    })),
  })
  for (const [mode, letter, label] of [
    ['batched', 'b', 'API, batched'],
    ['unbatched', 'c', 'API, one produce per request'],
  ] as const) {
    for (const adapter of adapters) {
      const figures = api[mode][adapter]
      rows.push({
        id: letter,
        measurement: `${label}, ${adapterNames[adapter]}, ${connections} connections`,
        unit: '2xx req/s',
        figure: spread(figures.rate),
        detail: `p50 ${spread(figures.p50).median} ms, p99 ${spread(figures.p99).median} ms, ${figures.refused} non-2xx or errors`,
        ratios: [
          {
            of: 'of h',
            value: pairedRatio(figures.rate, series.http),
            ...(mode === 'batched' && { target: targets.apiOfHttp }),
          },
          {
            of: 'of its a',
            value: pairedRatio(figures.rate, series.raw[adapter]),
            ...(mode === 'batched' && { target: targets.apiOfProduce }),
          },
        ],
      })
    }
  }
  for (const adapter of adapters) {
    rows.push({
      id: 'd',
      measurement: `${adapterNames[adapter]} consumer drains ${messages} events per round (first commit after ${spread(series.drainStartup[adapter]).median.toFixed(1)} s)`,
      unit: 'events/s',
      figure: spread(series.drain[adapter]),
      ratios: [
        {
          of: 'of e',
          value: pairedRatio(series.drain[adapter], series.bulk),
          target: targets.consumerOfBulk,
        },
      ],
    })
  }
  rows.push({
    id: 'e',
    measurement: `store bulk write, ${messages} docs in sequential chunks of ${bulkChunk}`,
    unit: 'docs/s',
    figure: spread(series.bulk),
    ratios: [],
  })
  for (const adapter of adapters) {
    rows.push({
      id: 'm',
      measurement: `peak RSS of the batched API through the rounds, ${adapterNames[adapter]}`,
      unit: 'MiB',
      figure: spread(api.batched[adapter].rssMiB),
      ratios: [],
      target: targets.apiRssMiB,
    })
  }
  for (const adapter of adapters) {
    rows.push({
      id: 'm',
      measurement: `peak RSS of the consumer through the rounds' (d), ${adapterNames[adapter]}`,
      unit: 'MiB',
      figure: spread(series.consumerMiB[adapter]),
      ratios: [],
    })
  }
  notes.push(
    `Batching buys ${adapters
      .map(
        (adapter) =>
          `${pairedRatio(api.batched[adapter].rate, api.unbatched[adapter].rate).median.toFixed(1)}x with ${adapterNames[adapter]}`,
      )
      .join(', ')}: (b) / (c).`,
  )
}

async function freshness(stack: RunningStack, config: Config): Promise<void> {
  const adminStore = createElasticsearchClient(config)
  cleanups.push(() => adminStore.close())
  const settings = await adminStore.indices.getSettings({
    index: config.ELASTICSEARCH_INDEX,
    include_defaults: true,
  })
  const indexSettings = Object.values(settings)[0]
  const refresh = String(
    indexSettings?.settings?.index?.refresh_interval ??
      indexSettings?.defaults?.index?.refresh_interval ??
      '1s',
  )
  const refreshIntervalMs = refresh.endsWith('ms')
    ? Number.parseFloat(refresh)
    : Number.parseFloat(refresh) * 1000
  const kafkaCeiling: Percentiles[] = []
  const runs: NonNullable<Results['freshness']>['runs'] = []
  for (let round = 1; round <= rounds; round++) {
    const tag = `[round ${round}/${rounds}]`
    say(`${tag} f0. Kafka's EndToEndLatency: 1000 messages one at a time, acks=all`)
    try {
      kafkaCeiling.push(
        await endToEndLatency(
          stack,
          names.javaLatencyTopic,
          1_000,
          283,
          logsDir,
          bounds.javaMs,
          say,
        ),
      )
    } catch (error) {
      say(`f0. failed: ${String(error)}`)
      notes.push(`EndToEndLatency did not run in round ${round}: ${String(error).split('\n')[0]}`)
    }
    await eachAdapter(async (adapter) => {
      const prefix = names.adapterPrefix(adapter)
      const env = { KAFKA_CLIENT: adapter, KAFKA_NAME_PREFIX: prefix }
      const consumer = await startApp({
        role: 'consumer',
        port: ports.consumer,
        env,
        output: join(logsDir, `bench-fresh-consumer-${adapter}.log`),
      })
      try {
        const { result, peakMiB } = await withProcess(
          startApp({
            role: 'api',
            port: ports.api,
            env,
            output: join(logsDir, `bench-fresh-api-${adapter}.log`),
          }),
          async (app) => {
            const measured = []
            for (const rate of freshnessRates) {
              say(`${tag} f. ${adapter}: ${rate}/s offered open-loop for ${freshnessSeconds} s`)
              const result = await measureFreshness({
                apiUrl: app.url,
                consumerUrl: consumer.url,
                ratePerSecond: rate,
                seconds: freshnessSeconds,
                seed: dataset.seed + 400 + round,
                say,
              })
              say(
                `${tag} f. ${adapter} at ${rate}/s: 202 to returned p50 ${result.endToEnd.p50} ms, p99 ${result.endToEnd.p99} ms, ` +
                  `p99.9 ${result.endToEnd.p999} ms; ${result.accepted} of ${result.offered} accepted, ${result.missing} tracked never returned`,
              )
              measured.push(result)
            }
            return measured
          },
        )
        for (const measured of result)
          runs.push({ ...measured, adapter, round, apiPeakMiB: peakMiB })
      } finally {
        await consumer.stop()
      }
    })
  }
  results.freshness = { refreshIntervalMs, kafkaCeiling, runs }
  const target: Target = { op: '<=', value: refreshIntervalMs + 500 }
  // A rate at which no tracked purchase came back has no latency: NaN in the table, not a crash.
  const pick = (values: number[]) => {
    const finite = values.filter((value) => Number.isFinite(value))
    return spread(finite.length > 0 ? finite : [Number.NaN])
  }
  if (kafkaCeiling.length > 0) {
    rows.push({
      id: 'f0',
      measurement: "Kafka's EndToEndLatency (Java), 1000 msgs one at a time, acks=all: p99",
      unit: 'ms',
      figure: pick(kafkaCeiling.map((latency) => latency.p99)),
      detail: `p50 ${pick(kafkaCeiling.map((latency) => latency.p50)).median} ms, p99.9 ${pick(kafkaCeiling.map((latency) => latency.p999)).median} ms`,
      ratios: [],
    })
  }
  for (const adapter of adapters) {
    for (const rate of freshnessRates) {
      const these = runs.filter((run) => run.adapter === adapter && run.ratePerSecond === rate)
      if (these.length === 0) continue
      const p50 = pick(these.map((run) => run.endToEnd.p50)).median
      const produce = pick(these.map((run) => run.produce.p50)).median
      const batch = pick(these.map((run) => run.batchMs)).median
      const remainder = p50 - batch - refreshIntervalMs / 2
      rows.push({
        id: 'f',
        measurement: `202 to returned by GET, ${rate.toLocaleString('en-US')}/s offered open-loop, ${adapterNames[adapter]}: p99`,
        unit: 'ms',
        figure: pick(these.map((run) => run.endToEnd.p99)),
        detail:
          `p50 ${p50} ms, p99.9 ${pick(these.map((run) => run.endToEnd.p999)).median} ms; ` +
          `before it, produce (POST to 202) p50 ${produce} ms, p99 ${pick(these.map((run) => run.produce.p99)).median} ms; ` +
          `of the p50: a batch's handling (parse + bulk write) ${Math.round(batch)} ms, refresh wait ~${refreshIntervalMs / 2} ms (half of ${refreshIntervalMs} ms), ` +
          `consume and poll ~${Math.round(remainder)} ms (the rest); accepted ${these.reduce((sum, run) => sum + run.accepted, 0)} of ${these.reduce((sum, run) => sum + run.offered, 0)}, ` +
          `${these.reduce((sum, run) => sum + run.missing, 0)} tracked not returned`,
        ratios: [],
        ...(rate === 1_000 && { target }),
      })
    }
    const rss = runs.filter((run) => run.adapter === adapter).map((run) => run.apiPeakMiB)
    if (rss.length > 0) {
      rows.push({
        id: 'm',
        measurement: `peak RSS of the API during (f), ${adapterNames[adapter]}`,
        unit: 'MiB',
        figure: spread(rss),
        ratios: [],
        target: targets.apiRssMiB,
      })
    }
  }
}

async function queries(config: Config, env: Record<string, string>): Promise<void> {
  const index = datasetIndex(dataset)
  const adminClient = createElasticsearchClient(config, {
    requestTimeoutMs: 120_000,
    maxRetries: 1,
  })
  cleanups.push(() => adminClient.close())
  const loaderStore = createElasticsearchStore(adminClient, index)
  say(
    `q. the dataset: ${dataset.purchases} purchases over ${dataset.shops} shops and ${dataset.days} days, seed ${dataset.seed}`,
  )
  const loaded = await ensureDataset(adminClient, loaderStore, index, dataset, say)
  if (loaded.perSecond) say(`q. loaded at ${Math.round(loaded.perSecond)} docs/s`)
  // The ceiling queries go as the API's own identity, through the same store code.
  const apiStoreClient = createElasticsearchClient({
    ELASTICSEARCH_URL: env.ELASTICSEARCH_URL as string,
    ELASTICSEARCH_USERNAME: env.ELASTICSEARCH_USERNAME,
    ELASTICSEARCH_PASSWORD: env.ELASTICSEARCH_PASSWORD,
    ELASTICSEARCH_CA_FILE: env.ELASTICSEARCH_CA_FILE,
    ELASTICSEARCH_INDEX: index,
  })
  cleanups.push(() => apiStoreClient.close())
  const store = createElasticsearchStore(apiStoreClient, index)
  type Figures = Record<'api' | 'direct', number[][]>
  const figures = new Map<string, Figures>()
  const figuresOf = (kind: string, concurrency: number) => {
    const key = `${kind} ${concurrency}`
    if (!figures.has(key)) figures.set(key, { api: [], direct: [] })
    return figures.get(key) as Figures
  }
  const { result } = await withProcess(
    startApp({
      role: 'api',
      port: ports.api,
      env: { ELASTICSEARCH_INDEX: index },
      output: join(logsDir, 'bench-queries-api.log'),
    }),
    async (app) => {
      let failed = 0
      for (let round = 1; round <= rounds; round++) {
        for (const concurrency of queryConcurrencies) {
          for (const kind of ['day', 'summary'] as const) {
            for (const [side, target] of [
              ['api', { apiUrl: app.url }],
              ['direct', { store }],
            ] as const) {
              const load = await loadQueries(kind, target, dataset, concurrency, querySeconds)
              failed += load.failed
              figuresOf(kind, concurrency)[side].push([load.perSecond, load.p50, load.p99])
              say(
                `[round ${round}/${rounds}] q. ${kind} query ${side === 'api' ? 'through the API' : 'straight to Elasticsearch'}, ${concurrency} concurrent: ` +
                  `${Math.round(load.perSecond)}/s, p50 ${load.p50} ms, p99 ${load.p99} ms`,
              )
            }
          }
        }
      }
      return failed
    },
  )
  if (result > 0) notes.push(`(q) ${result} queries failed or answered non-200.`)
  const column = (values: number[][], at: number) => values.map((value) => value[at] as number)
  for (const concurrency of queryConcurrencies) {
    for (const [kind, what] of [
      [
        'day',
        `GET /purchases/{shop}?date= (a shop's day, ~${Math.round(dataset.purchases / dataset.shops / dataset.days)} purchases)`,
      ],
      ['summary', 'GET /shops/{shop}/summary over 30 days'],
    ] as const) {
      const { api, direct } = figuresOf(kind, concurrency)
      const callers = concurrency === 1 ? 'one caller' : `${concurrency} concurrent callers`
      rows.push(
        {
          id: 'q',
          measurement: `${what} over ${dataset.purchases.toLocaleString('en-US')} docs, ${callers}: p99`,
          unit: 'ms',
          figure: spread(column(api, 2)),
          detail: `p50 ${spread(column(api, 1)).median} ms, ${Math.round(spread(column(api, 0)).median)}/s`,
          ratios: [
            { of: 'of q0 (queries/s)', value: pairedRatio(column(api, 0), column(direct, 0)) },
          ],
          ...(kind === 'day' && concurrency === 1 && { target: targets.dayQueryP99Ms }),
        },
        {
          id: 'q0',
          measurement: `the same ${kind} query straight to Elasticsearch (the store's query), ${callers}: p99`,
          unit: 'ms',
          figure: spread(column(direct, 2)),
          detail: `p50 ${spread(column(direct, 1)).median} ms, ${Math.round(spread(column(direct, 0)).median)}/s`,
          ratios: [],
        },
      )
    }
  }
}

async function buffering(config: Config): Promise<void> {
  const adapter = config.KAFKA_CLIENT
  const offered = Math.round(produceRates[adapter] ?? 20_000)
  const logger = createLogger('warn', 'bench')
  const client = createKafkaClient(config, logger)
  const producer = await client.producer()
  cleanups.push(() => producer.disconnect())
  const admin = await client.admin()
  cleanups.push(() => admin.disconnect())
  const prefix = names.adapterPrefix(adapter)
  say(
    `l. buffering: ${offered}/s offered straight to the topic for ${bufferingSeconds} s, a ${adapter} consumer storing`,
  )
  const { result, peakMiB } = await withProcess(
    startApp({
      role: 'consumer',
      port: ports.consumer,
      env: { KAFKA_CLIENT: adapter, KAFKA_NAME_PREFIX: prefix },
      output: join(logsDir, 'bench-buffering-consumer.log'),
    }),
    () =>
      measureBuffering({
        producer,
        admin,
        topic: kafkaName(prefix, storePurchases.topic),
        group: kafkaName(prefix, storePurchases.group),
        ratePerSecond: offered,
        seconds: bufferingSeconds,
        seed: dataset.seed + 500,
        drainBoundMs: bounds.bufferDrainMs,
        say,
      }),
  )
  results.buffering = { ...result, adapter }
  rows.push(
    {
      id: 'l',
      measurement: `buffering: ${offered.toLocaleString('en-US')}/s offered for ${bufferingSeconds} s (the raw produce rate, a), ${adapterNames[adapter]}: peak lag`,
      unit: 'events',
      figure: spread([result.peakLag]),
      detail:
        result.drainSeconds === undefined
          ? `not drained within ${bounds.bufferDrainMs / 1000} s of the load's end`
          : `drained ${Math.round(result.drainSeconds)} s after the load stopped, ${Math.round(result.drainPerSecond ?? 0)} events/s`,
      ratios: [],
    },
    {
      id: 'm',
      measurement: `peak RSS of the consumer during (l), ${adapterNames[adapter]}`,
      unit: 'MiB',
      figure: spread([peakMiB]),
      ratios: [],
    },
  )
}

/** Each CPU profile of this run's app processes as a flame graph SVG beside it. */
async function renderProfiles(): Promise<void> {
  const files = await readdir(profilesDir).catch(() => [] as string[])
  for (const file of files.filter((name) => name.endsWith('.cpuprofile'))) {
    const svgFile = join(profilesDir, file.replace(/\.cpuprofile$/, '.svg'))
    const profile = JSON.parse(await readFile(join(profilesDir, file), 'utf8'))
    await writeFile(svgFile, await flameGraph(profile, file))
    say(`flame graph: ${svgFile}`)
  }
}

async function writeResults(stack: RunningStack): Promise<void> {
  const packageVersion = async (name: string) =>
    JSON.parse(
      await readFile(join(import.meta.dirname, '..', 'node_modules', name, 'package.json'), 'utf8'),
    ).version as string
  results.machine.versions = {
    node: process.version,
    kafka: `${stack.versions.kafka} (1 node, SASL SCRAM-SHA-512)`,
    elasticsearch: `${stack.versions.elasticsearch} (1 node, HTTPS)`,
    kafkajs: await packageVersion('kafkajs'),
    '@platformatic/kafka': await packageVersion('@platformatic/kafka'),
  }
  results.runSeconds = (performance.now() - began) / 1000
  await mkdir(resultsDir, { recursive: true })
  const report = await writeOutputs(results)
  process.stdout.write(`\n${report}`)
  say('wrote bench/results/latest.json, latest.md, the charts and the table in docs/benchmarks.md')
}

try {
  say(`sections: ${[...sections].join(', ')}; ${rounds} rounds; ports from ${portBase}`)
  say(`starting Kafka and Elasticsearch in ${dataDir} (about 30-60 s)`)
  const { stack, config, env } = await harness.ready
  for (const adapter of adapters) await harness.addNames(names.adapterPrefix(adapter))
  const work: Record<Section, () => Promise<void>> = {
    throughput: () => throughput(stack, config),
    freshness: () => freshness(stack, config),
    queries: () => queries(config, env.api),
    buffering: () => buffering(config),
  }
  for (const section of sectionNames.filter((name) => sections.has(name))) {
    // A section that fails is reported as such; the others still measure and write their rows.
    await work[section]().catch((error: unknown) => {
      if (finishing) throw error
      say(
        `${section} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      )
      notes.push(`The ${section} section failed: ${String(error).split('\n')[0]}`)
    })
    // Written after each section, so a run cut short still leaves what it measured.
    await writeResults(stack)
  }
  if (profiling) await renderProfiles()
  await finish(0)
} catch (error) {
  // After Ctrl-C the measurement fails on purpose: no need to say so.
  if (!finishing) {
    say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  }
  await finish(1)
}
