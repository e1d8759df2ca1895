/**
 * What every scenario gets: the harness's stack and environment, the contenders (each Kafka
 * adapter, by its human name), the run's own names, app processes started as the chart deploys
 * them, shared Kafka clients, and a place to close what it opens.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import type { Config } from '../runtime/config.ts'
import type { Admin, Producer } from '../runtime/kafka/client.ts'
import { createKafkaClient } from '../runtime/kafka/index.ts'
import { lazy } from '../runtime/lazy.ts'
import { createLogger } from '../runtime/logger.ts'
import type { StackIdentity } from '../scripts/local-stack/app-env.ts'
import type { AppProcess, Harness, ProcessSpec } from '../scripts/local-stack/harness.ts'
import type { RunningStack } from '../scripts/local-stack/stack.ts'
import type { Say } from './measure.ts'
import { watchMemory } from './memory.ts'
import type { BenchOptions } from './options.ts'
import type { MeasuredRow } from './report.ts'

export type Adapter = Config['KAFKA_CLIENT']
/** Every adapter behind the Kafka port, by the name the table gives it. */
export interface Contender {
  adapter: Adapter
  name: string
}
export const contenders: Contender[] = [
  { adapter: 'kafkajs', name: 'kafkajs' },
  { adapter: 'platformatic', name: '@platformatic/kafka' },
]

export interface Bench {
  options: BenchOptions
  stack: RunningStack
  /** The stack's admin, with the run's names. */
  config: Config
  /** Each identity's environment (the API's: the queries' ceiling goes as the API's user). */
  env: Record<StackIdentity, Record<string, string>>
  contenders: Contender[]
  say: Say
  /**
   * The adapter's own prefix for topics and consumer groups (its produce, drain, end-to-end and
   * buffering rows take turns on them); granted on first use (Kafka's tool, half a minute).
   */
  prefixOf(adapter: Adapter): Promise<string>
  /** A topic or index a scenario declared, by its short name. */
  topic(name: string): string
  index(name: string): string
  /** A log file for a process or a tool, by name. */
  logFile(name: string): string
  logsDir: string
  /** An API or consumer process as the chart deploys it (built JavaScript, the chart's heap). */
  startApp(spec: ProcessSpec): Promise<AppProcess>
  /** A process from its own entry, as it is (the bare HTTP server). Both on a free port. */
  startProcess(spec: ProcessSpec): Promise<AppProcess>
  /** One producer and one admin per adapter, shared by the run. */
  producer(adapter: Adapter): Promise<Producer>
  admin(): Promise<Admin>
  /** Run at the end of the run, in reverse order (also on failure and Ctrl-C). */
  defer(close: () => Promise<unknown>): void
  /** How long a timed measurement runs: --seconds, else the scenario's own. */
  seconds(own: number): number
  /** Recorded in the results' settings. */
  setting(name: string, value: number | string): void
  note(text: string): void
  /** A row an earlier stage measured (the buffering row offers the raw produce rate). */
  measured(id: string, variant?: string): MeasuredRow | undefined
  /** A scenario's raw measurements, kept in latest.json. */
  keepRaw(id: string, data: unknown): void
}

/** Half the memory limit chart/values.yaml gives the role's container, in MiB. */
function chartHeapMiB(role: ProcessSpec['role']): number {
  const values = parseYaml(
    readFileSync(join(import.meta.dirname, '..', 'chart', 'values.yaml'), 'utf8'),
  )
  const limit = String(values?.[role]?.resources?.limits?.memory ?? '')
  if (!limit.match(/^\d+(Mi|Gi)$/))
    throw new Error(`chart/values.yaml: ${role}.resources.limits.memory is ${limit}`)
  const mebibytes = Number.parseFloat(limit) * (limit.endsWith('Gi') ? 1024 : 1)
  return Math.floor(mebibytes / 2)
}

export interface BenchParts {
  options: BenchOptions
  harness: Harness
  ready: Awaited<Harness['ready']>
  run: string
  say: Say
  profilesDir: string
  rows: MeasuredRow[]
  settings: Record<string, number | string>
  notes: string[]
  raw: Record<string, unknown>
  defer(close: () => Promise<unknown>): void
}

export function createBench(parts: BenchParts): Bench {
  const { options, harness, ready, run, say, defer } = parts
  const logsDir = join(options['data-dir'], 'logs')
  const logger = createLogger('warn', 'bench')
  const once = <K, V>(make: (key: K) => Promise<V>) => {
    const made = new Map<K, Promise<V>>()
    return (key: K) => {
      if (!made.has(key)) made.set(key, make(key))
      return made.get(key) as Promise<V>
    }
  }
  const client = (adapter: Adapter) =>
    createKafkaClient({ ...ready.config, KAFKA_CLIENT: adapter }, logger)
  return {
    options,
    stack: ready.stack,
    config: ready.config,
    env: ready.env,
    contenders,
    say,
    prefixOf: once(async (adapter: Adapter) => {
      const prefix = `${run}-${adapter}.`
      await harness.addNames(prefix)
      return prefix
    }),
    topic: (name) => `${run}-${name}`,
    index: (name) => `${run}-${name}`,
    logFile: (name) => join(logsDir, `bench-${name}.log`),
    logsDir,
    startApp: (spec) => {
      const profile = options.profile ? ` --cpu-prof --cpu-prof-dir=${parts.profilesDir}` : ''
      return harness.start({
        entry: 'dist/runtime/main.js',
        ...spec,
        env: {
          ...spec.env,
          NODE_OPTIONS: `--max-old-space-size=${chartHeapMiB(spec.role)}${profile}`,
        },
      })
    },
    startProcess: (spec) => harness.start(spec),
    producer: once(async (adapter: Adapter) => {
      const producer = await client(adapter).producer()
      defer(() => producer.disconnect())
      return producer
    }),
    // The lag is read with the stack's default adapter.
    admin: lazy(async () => {
      const admin = await client(ready.config.KAFKA_CLIENT).admin()
      defer(() => admin.disconnect())
      return admin
    }),
    defer,
    seconds: (own) => options.seconds ?? own,
    setting: (name, value) => {
      parts.settings[name] = value
    },
    note: (text) => parts.notes.push(text),
    measured: (id, variant) =>
      parts.rows.find((row) => row.id === id && (!variant || row.variant === variant)),
    keepRaw: (id, data) => {
      parts.raw[id] = data
    },
  }
}

/** One stage for every contender in turn: each sees about the same machine load. */
export async function eachContender<T>(
  bench: Bench,
  stage: (contender: Contender, at: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = []
  for (const [at, contender] of bench.contenders.entries()) results.push(await stage(contender, at))
  return results
}

/** Runs `work` with an app process, stopping it after; answers the work and its peak RSS. */
export async function withProcess<T>(
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
