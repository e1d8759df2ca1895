/** The measurements, each bounded in count and time, each printing progress while it runs. */
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import autocannon from 'autocannon'
import pTimeout from 'p-timeout'
import type { Purchase, PurchaseEvent, PurchaseInput } from '../handlers/purchase.ts'
import type { ElasticsearchStore } from '../runtime/elasticsearch/store.ts'
import type { Admin, Producer } from '../runtime/kafka/client.ts'
import { poll } from '../runtime/wait.ts'
import { cacheDir } from '../scripts/local-stack/fetch.ts'
import { findJdks, pickJdk } from '../scripts/local-stack/java.ts'
import type { RunningStack } from '../scripts/local-stack/stack.ts'

export type Say = (line: string) => void

export interface Rate {
  count: number
  seconds: number
  perSecond: number
  /** Set when the time bound cut the measurement short. */
  cutShort?: boolean
}

/** The producer adapters send in sequential batches of this many (raw-produce, consumer-drain). */
export const produceBatch = 500

/** `count` fresh events from `purchases`, received now: what the API would publish. */
export const freshEvents = (purchases: { next(): PurchaseInput }, count: number): PurchaseEvent[] =>
  Array.from({ length: count }, () => ({
    ...purchases.next(),
    received_at: new Date().toISOString(),
  }))

const progressEveryMs = 5_000
const rate = (count: number, ms: number, cutShort = false): Rate => ({
  count,
  seconds: ms / 1000,
  perSecond: count / (ms / 1000),
  ...(cutShort && { cutShort }),
})
const thousands = (n: number) => Math.round(n).toLocaleString('en-US')

/** raw-produce: our producer adapter: sequential sends of `batchSize` messages, acks all, idempotent. */
export async function rawProduce(
  producer: Producer,
  topic: string,
  events: PurchaseEvent[],
  batchSize: number,
  maxMs: number,
  say: Say,
): Promise<Rate> {
  const messages = events.map((event) => ({ key: event.shop_id, value: JSON.stringify(event) }))
  const started = performance.now()
  let reported = started
  let sent = 0
  while (sent < messages.length) {
    await producer.send([{ topic, messages: messages.slice(sent, sent + batchSize) }])
    sent = Math.min(sent + batchSize, messages.length)
    const now = performance.now()
    if (now - started > maxMs) return rate(sent, now - started, true)
    if (now - reported > progressEveryMs) {
      reported = now
      say(
        `  ${thousands(sent)} of ${thousands(messages.length)} sent, ${thousands(rate(sent, now - started).perSecond)}/s so far`,
      )
    }
  }
  return rate(sent, performance.now() - started)
}

/**
 * Runs one of Kafka's own tools (the kafka-tools jars the stack fetched) as the stack's SASL admin
 * and hands each line of its stdout to `onLine`; rejects with the output's tail when it fails or
 * runs past `maxMs`.
 */
async function runKafkaTool(
  stack: RunningStack,
  workDir: string,
  mainClass: string,
  args: (clientProperties: string) => string[],
  maxMs: number,
  onLine: (line: string) => void,
): Promise<void> {
  const tool = mainClass.split('.').at(-1) ?? mainClass
  const jdk = pickJdk(await findJdks(), 17, tool)
  const sasl = stack.kafka.admin
  const clientProperties = join(workDir, 'bench-client.properties')
  const log4j = join(workDir, 'bench-log4j2.properties')
  await writeFile(
    clientProperties,
    sasl
      ? 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n' +
          'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required ' +
          `username="${sasl.username}" password="${sasl.password}";\n`
      : '',
    { mode: 0o600 },
  )
  // The clients log their whole configuration at INFO; only the tools' summary lines matter here.
  await writeFile(
    log4j,
    'status = warn\nappender.err.type = Console\nappender.err.name = ERR\nappender.err.target = SYSTEM_ERR\n' +
      'appender.err.layout.type = PatternLayout\nappender.err.layout.pattern = %p %m%n\n' +
      'rootLogger.level = WARN\nrootLogger.appenderRef.err.ref = ERR\n',
  )
  const child = spawn(
    join(jdk.home, 'bin', 'java'),
    [
      '-Xmx512m',
      `-Dlog4j2.configurationFile=${log4j}`,
      '-cp',
      join(cacheDir(), `kafka-${stack.versions.kafka}`, 'libs', '*'),
      mainClass,
      ...args(clientProperties),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const output: string[] = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    output.push(line)
    onLine(line)
  })
  createInterface({ input: child.stderr }).on('line', (line) => output.push(line))
  const exit = new Promise<number | null>((done) => {
    child.once('error', (error) => {
      output.push(String(error))
      done(-1)
    })
    child.once('exit', (exitCode) => done(exitCode))
  })
  const code = await pTimeout(exit, {
    milliseconds: maxMs,
    fallback: () => {
      child.kill('SIGKILL')
      output.push(`(killed after ${maxMs / 1000} s)`)
      return exit
    },
  })
  if (code !== 0) throw new Error(`${tool} failed (exit ${code}):\n${output.slice(-15).join('\n')}`)
}

/**
 * kafka-producer-perf: Kafka's own ProducerPerformance, acks=all, idempotent, with our JSON messages as payloads
 * (no keys: the sticky partitioner).
 */
export async function producerPerformance(
  stack: RunningStack,
  topic: string,
  payloads: string[],
  count: number,
  workDir: string,
  maxMs: number,
  say: Say,
): Promise<Rate> {
  const payloadFile = join(workDir, 'bench-payloads.txt')
  await writeFile(payloadFile, payloads.join('\n'))
  let summary: number | undefined
  await runKafkaTool(
    stack,
    workDir,
    'org.apache.kafka.tools.ProducerPerformance',
    (clientProperties) => [
      '--topic',
      topic,
      '--num-records',
      String(count),
      '--payload-file',
      payloadFile,
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${stack.kafka.brokers.join(',')}`,
      'acks=all',
      'enable.idempotence=true',
      '--producer.config',
      clientProperties,
    ],
    maxMs,
    // e.g. "50000 records sent, 41858.1 records/sec (12.01 MB/sec), 543.2 ms avg latency, ..."
    (line) => {
      if (!line.includes('records sent')) return
      say(`  ${line}`)
      const total = /^(\d+) records sent, ([\d.]+) records\/sec/.exec(line)
      if (total && Number(total[1]) === count) summary = Number(total[2])
    },
  )
  if (summary === undefined) throw new Error('ProducerPerformance printed no summary')
  return { count, seconds: count / summary, perSecond: summary }
}

export interface Percentiles {
  p50: number
  p99: number
  p999: number
}

/**
 * Kafka's own EndToEndLatency: one message at a time, produced (acks=all) and consumed back by
 * the Java clients; the ceiling for the Kafka part of the end-to-end time.
 */
export async function endToEndLatency(
  stack: RunningStack,
  topic: string,
  count: number,
  recordBytes: number,
  workDir: string,
  maxMs: number,
  say: Say,
): Promise<Percentiles> {
  let result: Percentiles | undefined
  await runKafkaTool(
    stack,
    workDir,
    'org.apache.kafka.tools.EndToEndLatency',
    (clientProperties) => [
      stack.kafka.brokers.join(','),
      topic,
      String(count),
      'all',
      String(recordBytes),
      clientProperties,
    ],
    maxMs,
    // e.g. "Percentiles: 50th = 2, 99th = 5, 99.9th = 12"
    (line) => {
      const found = /50th = ([\d.]+), 99th = ([\d.]+), 99\.9th = ([\d.]+)/.exec(line)
      if (!found) return
      say(`  ${line}`)
      result = { p50: Number(found[1]), p99: Number(found[2]), p999: Number(found[3]) }
    },
  )
  if (!result) throw new Error('EndToEndLatency printed no percentiles')
  return result
}

export interface LoadResult extends Rate {
  p50: number
  p99: number
  non2xx: number
  errors: number
  statusCodes: Record<string, number>
}

/** In milliseconds with one decimal, from ascending values. */
export function percentile(sorted: number[], p: number): number {
  const value = sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
  return value === undefined ? Number.NaN : Math.round(value * 10) / 10
}

/**
 * bare-http, api-batched, api-unbatched: POSTs valid purchases, each with a fresh purchase id, from `connections` keep-alive
 * connections for `seconds`. Latencies are those of the 2xx answers only: a fast 503 is not
 * a fast purchase.
 */
export async function loadApi(
  url: string,
  connections: number,
  seconds: number,
  nextPurchase: () => PurchaseInput,
  say: Say,
): Promise<LoadResult> {
  const okLatencies: number[] = []
  let other = 0
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: '/purchases',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify(nextPurchase()) }),
      },
    ],
  })
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) okLatencies.push(ms)
    else other++
  })
  const started = performance.now()
  const progress = setInterval(() => {
    const elapsed = Math.round((performance.now() - started) / 1000)
    say(
      `  ${elapsed} s of ${seconds} s: ${thousands(okLatencies.length)} 2xx, ${thousands(other)} other`,
    )
  }, progressEveryMs)
  try {
    const result = await instance
    okLatencies.sort((a, b) => a - b)
    return {
      ...rate(result['2xx'], result.duration * 1000),
      p50: percentile(okLatencies, 50),
      p99: percentile(okLatencies, 99),
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      statusCodes: Object.fromEntries(
        Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count]),
      ),
    }
  } finally {
    clearInterval(progress)
  }
}

export interface DrainResult extends Rate {
  events: number
  /** From spawning the consumer to its first commit. */
  startupSeconds: number
}

const totalLag = async (admin: Admin, group: string, topic: string) =>
  (await admin.lag(group, topic)).reduce((sum, partition) => sum + partition.lag, 0)

/**
 * consumer-drain: resumes a consumer over a topic already holding the events and polls the
 * group's lag until it is 0, then pauses it again. The rate
 * counts from the first commit, so process start, group join and the first fetch are reported
 * apart (`startupSeconds`).
 */
export async function drainConsumer(
  admin: Admin,
  group: string,
  topic: string,
  startConsumer: () => Promise<{ stop(): Promise<unknown> }>,
  maxMs: number,
  say: Say,
): Promise<DrainResult> {
  const events = await totalLag(admin, group, topic)
  const spawned = performance.now()
  const consumer = await startConsumer()
  let first: { at: number; lag: number } | undefined
  let lag = events
  let reported = spawned
  const bound = AbortSignal.timeout(maxMs)
  try {
    // Cut short at the bound: the rate so far, flagged.
    const drained = await poll(
      async () => {
        lag = await totalLag(admin, group, topic)
        const now = performance.now()
        if (!first && lag < events) first = { at: now, lag }
        if (now - reported > progressEveryMs) {
          reported = now
          say(
            `  lag ${thousands(lag)} of ${thousands(events)}, ${Math.round((now - spawned) / 1000)} s since the consumer started`,
          )
        }
        return lag === 0 || undefined
      },
      { signal: bound },
    ).catch((error: unknown) => {
      if (bound.aborted) return false
      throw error
    })
    const now = performance.now()
    const from = first ?? { at: now, lag: events }
    return {
      ...rate(from.lag - lag, Math.max(1, now - from.at), !drained),
      events,
      startupSeconds: (from.at - spawned) / 1000,
    }
  } finally {
    await consumer.stop()
  }
}

/** store-bulk: the store's own bulk write (what the consumer calls), sequential chunks, no queue in between. */
export async function bulkCeiling(
  store: ElasticsearchStore,
  documents: Purchase[],
  chunk: number,
  maxMs: number,
  say: Say,
): Promise<Rate> {
  const started = performance.now()
  let reported = started
  let stored = 0
  while (stored < documents.length) {
    const { rejected } = await store.savePurchases(documents.slice(stored, stored + chunk))
    if (rejected.length > 0) throw new Error(`bulk rejected documents: ${rejected[0]?.reason}`)
    stored = Math.min(stored + chunk, documents.length)
    const now = performance.now()
    if (now - started > maxMs) return rate(stored, now - started, true)
    if (now - reported > progressEveryMs) {
      reported = now
      say(
        `  ${thousands(stored)} of ${thousands(documents.length)} indexed, ${thousands(rate(stored, now - started).perSecond)}/s so far`,
      )
    }
  }
  return rate(stored, performance.now() - started)
}
