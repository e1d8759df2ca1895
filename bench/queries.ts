/**
 * Queries at size: a seeded dataset loaded once through the store's own bulk path (kept
 * between runs while its seed and size match), then the day query and the 30-day summary at a
 * fixed concurrency: through the API (query-api) and as the store's own queries straight to
 * Elasticsearch (query-direct).
 */
import type { Client } from '@elastic/elasticsearch'
import { nextDay, startOfDay } from '../handlers/calendar.ts'
import { toPurchase } from '../handlers/purchase.ts'
import {
  createElasticsearchClient,
  createElasticsearchStore,
  type ElasticsearchStore,
} from '../runtime/elasticsearch/store.ts'
import { createPurchaseGenerator } from '../runtime/load/purchases.ts'
import type { Bench } from './context.ts'
import { call } from './http-client.ts'
import { percentile, type Say } from './measure.ts'
import type { Ceiling, Target } from './report.ts'
import { spread } from './rounds.ts'
import { defineScenario, type Scenario } from './scenario.ts'

export interface Dataset {
  seed: number
  purchases: number
  shops: number
  days: number
}

/** The dataset's days end here, whenever the bench runs, so the same seed gives the same documents. */
const datasetEnd = new Date('2026-12-01T00:00:00Z')
const dayMs = 24 * 3600 * 1000
const chunk = 1_000
const chunksInFlight = 2

export const datasetIndex = (dataset: Dataset) =>
  `purchases-bench-dataset-s${dataset.seed}-n${dataset.purchases}`

/**
 * Loads the dataset into `index` unless it holds exactly that many documents already (the name
 * carries the seed and the size). Answers whether it loaded, and how fast.
 */
export async function ensureDataset(
  admin: Client,
  store: ElasticsearchStore,
  index: string,
  dataset: Dataset,
  say: Say,
): Promise<{ loaded: boolean; perSecond?: number }> {
  const held = await admin
    .count({ index })
    .then((answer) => answer.count)
    .catch(() => 0)
  if (held === dataset.purchases) {
    say(`  ${index} holds the ${dataset.purchases} purchases already: kept`)
    return { loaded: false }
  }
  say(`  ${index} holds ${held}: loading ${dataset.purchases} purchases afresh`)
  await admin.indices.delete({ index }, { ignore: [404] })
  await store.setup()
  const generator = createPurchaseGenerator({
    seed: dataset.seed,
    shops: dataset.shops,
    days: dataset.days,
    now: datasetEnd,
  })
  const started = performance.now()
  let reported = started
  let stored = 0
  const nextChunk = () =>
    Array.from({ length: Math.min(chunk, dataset.purchases - stored) }, () => {
      const input = generator.next()
      return toPurchase({ ...input, received_at: input.timestamp })
    })
  const writer = async () => {
    while (stored < dataset.purchases) {
      const documents = nextChunk()
      stored += documents.length
      const { rejected } = await store.savePurchases(documents)
      if (rejected.length > 0) throw new Error(`bulk rejected documents: ${rejected[0]?.reason}`)
      const now = performance.now()
      if (now - reported > 10_000) {
        reported = now
        say(
          `  ${stored} of ${dataset.purchases} loaded, ${Math.round(stored / ((now - started) / 1000))}/s`,
        )
      }
    }
  }
  await Promise.all(Array.from({ length: chunksInFlight }, writer))
  const perSecond = dataset.purchases / ((performance.now() - started) / 1000)
  await admin.indices.refresh({ index })
  return { loaded: true, perSecond }
}

export interface QueryLoad {
  perSecond: number
  p50: number
  p99: number
  failed: number
}

/** `concurrency` callers, each sending its next query as soon as the last one answered. */
async function closedLoop(
  concurrency: number,
  seconds: number,
  query: () => Promise<boolean>,
): Promise<QueryLoad> {
  const latencies: number[] = []
  let failed = 0
  const ends = performance.now() + seconds * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < ends) {
        const sent = performance.now()
        const ok = await query().catch(() => false)
        if (ok) latencies.push(performance.now() - sent)
        else failed++
      }
    }),
  )
  latencies.sort((a, b) => a - b)
  return {
    perSecond: latencies.length / ((performance.now() - started) / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failed,
  }
}

export type QueryKind = 'day' | 'summary'

/**
 * One query kind for `seconds` at `concurrency`, through the API (`apiUrl`) or straight to
 * Elasticsearch through the store's own query (`store`). Shops and days are drawn from the
 * dataset's own, the same sequence for both.
 */
export type QueryTarget = { apiUrl: string } | { store: ElasticsearchStore }

export function loadQueries(
  kind: QueryKind,
  target: QueryTarget,
  dataset: Dataset,
  concurrency: number,
  seconds: number,
): Promise<QueryLoad> {
  const { shops } = createPurchaseGenerator({ seed: dataset.seed, shops: dataset.shops })
  let drawn = 0
  // A fixed walk over shops and days: no randomness, same queries on both sides.
  const nextQuery = () => {
    drawn++
    const shop = shops[(drawn * 7919) % shops.length] as string
    const daysBack = 1 + ((drawn * 31) % (dataset.days - 30))
    const day = new Date(datasetEnd.getTime() - daysBack * dayMs).toISOString().slice(0, 10)
    return { shop, day }
  }
  const last30 = (day: string) => new Date(Date.parse(day) - 29 * dayMs).toISOString().slice(0, 10)
  const query = async () => {
    const { shop, day } = nextQuery()
    if ('apiUrl' in target) {
      const path =
        kind === 'day'
          ? `/purchases/${shop}?date=${day}`
          : `/shops/${shop}/summary?from=${last30(day)}&to=${day}`
      return (await call(`${target.apiUrl}${path}`, 'GET')).status === 200
    }
    if (kind === 'day') {
      await target.store.findPurchases({
        shopId: shop,
        from: startOfDay(day, 'UTC'),
        to: startOfDay(nextDay(day), 'UTC'),
        limit: 101,
      })
    } else {
      await target.store.summarize({
        shopId: shop,
        from: startOfDay(last30(day), 'UTC'),
        to: startOfDay(nextDay(day), 'UTC'),
        timeZone: 'UTC',
      })
    }
    return true
  }
  return closedLoop(concurrency, seconds, query)
}

/**
 * The bench's dataset from its options: --dataset-purchases over 1,000 shops and 90 days,
 * loaded unless its index holds it already (the stack's data directory keeps it between runs).
 */
export async function prepareDataset(bench: Bench): Promise<{ dataset: Dataset; index: string }> {
  const dataset = {
    seed: bench.options.seed,
    purchases: bench.options['dataset-purchases'],
    shops: 1_000,
    days: 90,
  }
  const index = datasetIndex(dataset)
  const client = createElasticsearchClient(bench.config, {
    requestTimeoutMs: 120_000,
    maxRetries: 1,
  })
  try {
    bench.say(
      `  the dataset: ${dataset.purchases} purchases over ${dataset.shops} shops and ${dataset.days} days, seed ${dataset.seed}`,
    )
    const loaded = await ensureDataset(
      client,
      createElasticsearchStore(client, index),
      index,
      dataset,
      bench.say,
    )
    if (loaded.perSecond) bench.say(`  loaded at ${Math.round(loaded.perSecond)} docs/s`)
  } finally {
    await client.close()
  }
  return { dataset, index }
}

/**
 * One caller (a query's own time: the target's row) and sixteen (the cores shared by the API,
 * Elasticsearch and the callers: queueing shows).
 */
const concurrencies = [1, 16] as const
const querySeconds = 5

/**
 * A query row family: the day query and the 30-day summary, at each concurrency, each round,
 * against `target` (the API, or the store's own query straight to Elasticsearch).
 */
export function queryScenario(spec: {
  id: string
  title: string
  ceilings?: Ceiling[]
  /** Where the queries go, and how to stop it. */
  connect(bench: Bench, index: string): Promise<{ target: QueryTarget; stop(): Promise<unknown> }>
  /** The rows' measurement for a query kind and its callers. */
  describe(kind: QueryKind, dataset: Dataset, callers: string): string
  /** The target of the day query's row with one caller. */
  dayTarget?: Target
}): Scenario {
  return defineScenario({
    id: spec.id,
    stage: 'queries',
    title: spec.title,
    ceilings: spec.ceilings,
    async start(bench) {
      const { dataset, index } = await prepareDataset(bench)
      const { target, stop } = await spec.connect(bench, index)
      const cases = concurrencies.flatMap((concurrency) =>
        (['day', 'summary'] as const).map((kind) => ({
          kind,
          concurrency,
          callers: concurrency === 1 ? 'one caller' : `${concurrency} concurrent callers`,
          loads: [] as QueryLoad[],
        })),
      )
      return {
        async round() {
          for (const each of cases) {
            const load = await loadQueries(
              each.kind,
              target,
              dataset,
              each.concurrency,
              bench.seconds(querySeconds),
            )
            each.loads.push(load)
            bench.say(
              `  ${each.kind} query, ${each.callers}: ${Math.round(load.perSecond)}/s, p50 ${load.p50} ms, p99 ${load.p99} ms`,
            )
          }
        },
        async finish() {
          await stop()
          const failed = cases.flatMap((each) => each.loads).reduce((n, load) => n + load.failed, 0)
          if (failed > 0) bench.note(`${spec.id}: ${failed} queries failed or answered non-200.`)
          return cases.map((each) => {
            const of = (key: 'perSecond' | 'p50' | 'p99') =>
              spread(each.loads.map((load) => load[key]))
            return {
              id: spec.id,
              variant: `${each.kind} query, ${each.callers}`,
              measurement: `${spec.describe(each.kind, dataset, each.callers)}: p99`,
              unit: 'ms',
              figure: of('p99'),
              figures: { 'queries/s': of('perSecond') },
              detail: `p50 ${of('p50').median} ms, ${Math.round(of('perSecond').median)}/s`,
              ...(each.kind === 'day' &&
                each.concurrency === 1 &&
                spec.dayTarget && { target: spec.dayTarget }),
            }
          })
        },
      }
    },
  })
}
