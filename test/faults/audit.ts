/**
 * The delivery audit: a bounded, seeded open-loop load against the real API that remembers every
 * purchase that got a 202, then, once the consumer has caught up, reads the topic and the index
 * and says what became of them. Every scenario of the fault suite ends with one audit row.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { inject, vi } from 'vitest'
import { PurchaseInput } from '../../handlers/purchase.ts'
import storePurchases from '../../handlers/subscribers/store-purchases.ts'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import type { Admin } from '../../runtime/kafka/client.ts'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { kafkaName } from '../../runtime/kafka/topics.ts'
import { type LoadStats, runOpenLoop } from '../../runtime/load/open-loop.ts'
import { createPurchaseGenerator } from '../../runtime/load/purchases.ts'
import { createLogger } from '../../runtime/logger.ts'
import { adminConfig, readTopic } from '../support/app.ts'

export interface LoadOptions {
  /** A scenario's own seed: its own shops and purchase ids. */
  seed: number
  ratePerSecond?: number
  /** The longest it runs; a scenario usually ends it earlier with stop(). */
  maxDurationMs?: number
  maxInFlight?: number
}

/** A POST's own bound: past it the answer counts as a hang ("timeout"), which must never happen. */
const requestTimeoutMs = 30_000
/**
 * The load's connections, kept alive. Unbounded, a stall opens a connection per request, past
 * the server's accept backlog, and the load then measures its own reconnects.
 */
const connections = 256

/**
 * POSTs one purchase; resolves with the status, whether a Retry-After came with it, and the
 * server's time: from getting a connection (a request may queue for one) to the answer.
 */
function postPurchase(
  agent: Agent,
  apiUrl: string,
  purchase: PurchaseInput,
): Promise<{ status: number; retryAfter: boolean; ms: number }> {
  let sentAt = 0
  return new Promise((resolve, reject) => {
    const post = request(
      `${apiUrl}/purchases`,
      {
        agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(requestTimeoutMs),
      },
      (response) => {
        response.resume()
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: response.headers['retry-after'] !== undefined,
            ms: performance.now() - sentAt,
          }),
        )
        response.on('error', reject)
      },
    )
    post.on('socket', () => {
      sentAt = performance.now()
    })
    post.on('error', reject)
    post.end(JSON.stringify(purchase))
  })
}
/** How long the audit waits for the consumer to catch up before it judges anyway. */
const catchUpTimeoutMs = 180_000

export interface AuditedLoad {
  readonly options: Required<LoadOptions>
  /** Answers so far by status ("202", "503", or the client's error, e.g. "timeout"). */
  readonly answers: Map<string, number>
  /** Resolves once `count` more answers than now have come back. */
  answered(count: number): Promise<void>
  /** Resolves once `count` more 202s than now have come back. */
  acknowledged(count: number): Promise<void>
  /** Resolves once `count` answers in a row were 202 (the API takes purchases again). */
  acceptedInARow(count: number): Promise<void>
  /** Marks the moment the fault was injected: time to recover counts from here. */
  faultInjected(): void
  /** Ends the load (the requests in flight still get their answers). */
  stop(): void
  /** The load has sent everything and every answer is in. */
  readonly finished: Promise<LoadStats>
  /** The audit's raw records, for assertions beyond the row. */
  readonly records: LoadRecords
}

interface LoadRecords {
  /** The copy acknowledged last, per purchase id. */
  acknowledged: Map<string, PurchaseInput>
  shops: readonly string[]
  maxRefusalLatencyMs: number
  /** Milliseconds from faultInjected() to the last answer other than 202. */
  lastRefusalAfterFaultMs: number
  faultAt: number | undefined
  deadLettersBefore: number
}

type Waiter = { until: number; resolve: () => void; kind: 'any' | '202' | 'streak' }

/** Starts the load at once; audit() judges it after the scenario. */
export async function startAuditedLoad(
  apiUrl: string,
  options: LoadOptions,
  onProgress: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<AuditedLoad> {
  const settings = { ratePerSecond: 200, maxDurationMs: 180_000, maxInFlight: 1_000, ...options }
  const stopped = new AbortController()
  const generator = createPurchaseGenerator({ seed: settings.seed })
  const answers = new Map<string, number>()
  const records: LoadRecords = {
    acknowledged: new Map(),
    shops: generator.shops,
    maxRefusalLatencyMs: 0,
    lastRefusalAfterFaultMs: 0,
    faultAt: undefined,
    deadLettersBefore: await deadLetterCount(),
  }
  let total = 0
  let accepted = 0
  let streak = 0
  const counter = (kind: Waiter['kind']) =>
    kind === '202' ? accepted : kind === 'streak' ? streak : total
  let waiters: Waiter[] = []
  const wake = () => {
    waiters = waiters.filter((w) => {
      const reached = counter(w.kind) >= w.until
      if (reached) w.resolve()
      return !reached
    })
  }
  const waitFor = (kind: Waiter['kind'], count: number) =>
    new Promise<void>((resolve) => {
      waiters.push({ kind, until: (kind === 'streak' ? 0 : counter(kind)) + count, resolve })
      wake()
    })

  // An idle connection is dropped before the API's keep-alive timeout (HTTP_KEEP_ALIVE_TIMEOUT_MS,
  // 5 s) can close it under a request just sent on it: that race reads as ECONNRESET.
  const agent = new Agent({ keepAlive: true, maxSockets: connections, timeout: 4_000 })
  const send = async (purchase: PurchaseInput) => {
    let answer: string
    let answeredInMs = 0
    try {
      const { status, retryAfter, ms } = await postPurchase(agent, apiUrl, purchase)
      answeredInMs = ms
      // A 503 must say when to come back.
      answer = status === 503 && !retryAfter ? '503 without Retry-After' : String(status)
      if (status === 202) records.acknowledged.set(purchase.purchase_id, purchase)
    } catch (error) {
      const { name, code } = error as NodeJS.ErrnoException
      answer = name === 'AbortError' || name === 'TimeoutError' ? 'timeout' : (code ?? 'error')
    }
    streak = answer === '202' ? streak + 1 : 0
    if (answer !== '202') {
      records.maxRefusalLatencyMs = Math.max(records.maxRefusalLatencyMs, answeredInMs)
      if (records.faultAt !== undefined) {
        records.lastRefusalAfterFaultMs = Date.now() - records.faultAt
      }
    } else accepted++
    total++
    answers.set(answer, (answers.get(answer) ?? 0) + 1)
    wake()
  }

  const finished = runOpenLoop(() => generator.next(), send, {
    ratePerSecond: settings.ratePerSecond,
    durationMs: settings.maxDurationMs,
    maxInFlight: settings.maxInFlight,
    signal: stopped.signal,
    onProgress: (stats) =>
      onProgress(
        `  load: ${Math.round(stats.elapsedMs / 1000)} s, ${stats.started} sent, answers ${JSON.stringify(Object.fromEntries(answers))}`,
      ),
  }).finally(() => agent.destroy())
  return {
    options: settings,
    answers,
    answered: (count) => waitFor('any', count),
    acknowledged: (count) => waitFor('202', count),
    acceptedInARow: (count) => waitFor('streak', count),
    faultInjected: () => {
      records.faultAt = Date.now()
    },
    stop: () => stopped.abort(),
    finished,
    records,
  }
}

export interface AuditRow {
  scenario: string
  kafkaClient: string
  load: string
  sent: number
  acknowledged: number
  /** Answers other than 202, by status. */
  refused: Record<string, number>
  /** The slowest answer other than 202, in ms. */
  maxRefusalMs: number
  stored: number
  lost: number
  duplicated: number
  extraCopiesInTopic: number
  deadLettered: number
  /** Seconds from the fault to the last answer other than 202 (0: clients saw none after it). */
  timeToRecoverSeconds: number
  /** Seconds the consumer needed after the load to store everything. */
  catchUpSeconds: number
}

const purchasesTopic = () => kafkaName(adminConfig().KAFKA_NAME_PREFIX, storePurchases.topic)
const deadLetterTopic = () =>
  kafkaName(adminConfig().KAFKA_NAME_PREFIX, storePurchases.deadLetter ?? '')
const indexerGroup = () => kafkaName(adminConfig().KAFKA_NAME_PREFIX, storePurchases.group)

async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = await createKafkaClient(adminConfig(), createLogger('warn', 'audit')).admin()
  try {
    return await work(admin)
  } finally {
    await admin.disconnect()
  }
}

async function deadLetterCount(): Promise<number> {
  const partitions = await withAdmin((admin) => admin.lag('audit-dead-letters', deadLetterTopic()))
  return partitions.reduce((sum, p) => sum + p.end, 0)
}

/** A message's purchase id; undefined for what is not a purchase (a poison message). */
function purchaseId(value: Buffer | null): string | undefined {
  try {
    return (JSON.parse(String(value)) as { purchase_id?: string }).purchase_id
  } catch {
    return undefined
  }
}

/** Copies of each purchase id in the topic, read as the admin from the beginning to the end. */
async function topicCopies(ids: Set<string>): Promise<Map<string, number>> {
  const topic = purchasesTopic()
  const ends = await withAdmin((admin) => admin.lag('audit-topic-ends', topic))
  const remaining = new Map(ends.filter((p) => p.end > 0).map((p) => [p.partition, p.end]))
  const copies = new Map<string, number>()
  const reader = await readTopic(topic, (message, partition) => {
    const id = purchaseId(message.value)
    if (id && ids.has(id)) copies.set(id, (copies.get(id) ?? 0) + 1)
    if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) remaining.delete(partition)
  })
  try {
    await vi.waitFor(
      () => {
        if (remaining.size > 0) throw new Error(`partitions not read to the end: ${[...remaining]}`)
      },
      { timeout: 120_000, interval: 250 },
    )
  } finally {
    await reader.stop()
  }
  return copies
}

interface StoredPurchase {
  purchase_id: string
  shop_id: string
  timestamp: string
  scoops: { type: string; quantity: number; price: number }[]
}

/** Every stored purchase of these shops, read as the admin through a point in time. */
async function storedPurchases(shops: readonly string[]): Promise<StoredPurchase[]> {
  const config = adminConfig()
  const client = createElasticsearchClient(config)
  try {
    await client.indices.refresh({ index: config.ELASTICSEARCH_INDEX })
    const pit = await client.openPointInTime({
      index: config.ELASTICSEARCH_INDEX,
      keep_alive: '1m',
    })
    const found: StoredPurchase[] = []
    let after: (string | number)[] | undefined
    try {
      for (;;) {
        const page = await client.search<StoredPurchase>({
          pit: { id: pit.id, keep_alive: '1m' },
          size: 5_000,
          query: { terms: { shop_id: [...shops] } },
          _source: ['purchase_id', 'shop_id', 'timestamp', 'scoops'],
          sort: [{ _shard_doc: 'asc' }],
          ...(after && { search_after: after }),
        })
        const hits = page.hits.hits
        for (const hit of hits) if (hit._source) found.push(hit._source)
        if (hits.length < 5_000) return found
        after = hits.at(-1)?.sort as (string | number)[]
      }
    } finally {
      await client.closePointInTime({ id: pit.id })
    }
  } finally {
    await client.close()
  }
}

/** The content that matters: what the shop sent, as the API normalised it. */
function sameContent(sent: PurchaseInput, stored: StoredPurchase): boolean {
  const expected = PurchaseInput.parse(sent)
  return (
    stored.shop_id === expected.shop_id &&
    Date.parse(stored.timestamp) === Date.parse(expected.timestamp) &&
    JSON.stringify(stored.scoops.map(({ type, quantity, price }) => [type, quantity, price])) ===
      JSON.stringify(expected.scoops.map(({ type, quantity, price }) => [type, quantity, price]))
  )
}

/**
 * Waits for the load to end and the consumer to catch up (its group's lag 0, bounded), then
 * reads the topic and the index and returns the scenario's row, printed and saved.
 */
export async function audit(scenario: string, load: AuditedLoad): Promise<AuditRow> {
  const stats = await load.finished
  const { records } = load
  const caughtUpFrom = Date.now()
  await vi
    .waitFor(
      async () => {
        const lag = await withAdmin((admin) => admin.lag(indexerGroup(), purchasesTopic()))
        const behind = lag.reduce((sum, p) => sum + p.lag, 0)
        if (behind > 0) throw new Error(`the consumer is ${behind} messages behind`)
      },
      { timeout: catchUpTimeoutMs, interval: 1_000 },
    )
    .catch((error: Error) => process.stderr.write(`  audit: judging anyway: ${error.message}\n`))
  const catchUpSeconds = (Date.now() - caughtUpFrom) / 1000

  const stored = await storedPurchases(records.shops)
  const copiesInTopic = await topicCopies(new Set(stored.map((p) => p.purchase_id)))
  const documents = new Map<string, StoredPurchase[]>()
  for (const purchase of stored) {
    documents.set(purchase.purchase_id, [...(documents.get(purchase.purchase_id) ?? []), purchase])
  }
  let lost = 0
  for (const [id, sent] of records.acknowledged) {
    const copies = documents.get(id)
    if (!copies?.some((copy) => sameContent(sent, copy))) lost++
  }
  const row: AuditRow = {
    scenario,
    kafkaClient: inject('faults').kafkaClient,
    load: `${load.options.ratePerSecond}/s x ${Math.round(stats.elapsedMs / 1000)} s`,
    sent: stats.started,
    acknowledged: records.acknowledged.size,
    refused: Object.fromEntries([...load.answers].filter(([status]) => status !== '202')),
    maxRefusalMs: Math.round(records.maxRefusalLatencyMs),
    stored: documents.size,
    lost,
    duplicated: [...documents.values()].filter((copies) => copies.length > 1).length,
    extraCopiesInTopic: [...copiesInTopic.values()].reduce((sum, n) => sum + n - 1, 0),
    deadLettered: (await deadLetterCount()) - records.deadLettersBefore,
    timeToRecoverSeconds: Math.round(records.lastRefusalAfterFaultMs / 100) / 10,
    catchUpSeconds: Math.round(catchUpSeconds * 10) / 10,
  }
  process.stderr.write(`AUDIT ${JSON.stringify(row)}\n`)
  await saveRow(row)
  return row
}

/** Git-ignored: the latest row of each scenario and client, for the table of docs/faults.md. */
export const resultsFile = join(import.meta.dirname, 'results', 'latest.json')

async function saveRow(row: AuditRow): Promise<void> {
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true })
  const rows = await readFile(resultsFile, 'utf8').then(
    (text) => JSON.parse(text) as AuditRow[],
    () => [],
  )
  const others = rows.filter(
    (r) => r.scenario !== row.scenario || r.kafkaClient !== row.kafkaClient,
  )
  await writeFile(resultsFile, `${JSON.stringify([...others, row], null, 2)}\n`)
}
