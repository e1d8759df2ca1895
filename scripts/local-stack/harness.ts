/**
 * The local harness `npm start`, the bench and the integration tests share: starts Kafka and
 * Elasticsearch, derives the app's environment, creates the topics, runs app processes until
 * they are ready, and stops it all in order. Each caller passes only what differs.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { execa } from 'execa'
import { type Config, loadConfig } from '../../runtime/config.ts'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import type { Admin, TopicSpec } from '../../runtime/kafka/client.ts'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { topicSpecs } from '../../runtime/kafka/topics.ts'
import { createLogger } from '../../runtime/logger.ts'
import { setUpStore } from '../../runtime/roles/setup.ts'
import { poll } from '../../runtime/wait.ts'
import { appEnvironment, type StackIdentity } from './app-env.ts'
import { assertPortFree, freePort, type Log, tail, watched } from './proc.ts'
import { type RunningStack, startStack } from './stack.ts'

// --- How the app is told its names, and its way into Kafka.

/** A run's own topics and consumer groups (a name prefix) and index, as the app's environment. */
function runEnvironment(run: string): Record<string, string> {
  return { KAFKA_NAME_PREFIX: `${run}.`, ELASTICSEARCH_INDEX: `purchases-${run}` }
}

/** The runtime's Kafka admin, connected for `work` only. */
async function withKafkaAdmin(config: Config, work: (admin: Admin) => Promise<void>) {
  const admin = await createKafkaClient(config, createLogger('warn', 'harness')).admin()
  try {
    await work(admin)
  } finally {
    await admin.disconnect()
  }
}

// --- Node's flags for local processes.

// kafkajs 2.2.4 sets a negative timer once per process on current Node: harmless, but noise.
// The app processes get Node's flag; this process (the stack check and the admins use kafkajs
// here too) started with its flags already set, so its warning printer skips that one warning.
const kafkajsWarning = 'TimeoutNegativeWarning'
const nodeArgs = (entry: string) => [
  `--disable-warning=${kafkajsWarning}`,
  // TypeScript through tsx; built JavaScript (the image's dist/) as it is.
  ...(entry.endsWith('.ts') ? ['--import', 'tsx'] : []),
]
for (const print of process.listeners('warning')) {
  process.off('warning', print)
  process.on('warning', (warning) => {
    if (warning.name !== kafkajsWarning) print(warning)
  })
}

// --- One app process.

const repoRoot = join(import.meta.dirname, '..', '..')
const defaultReadyWithinMs = 90_000
const killAfterMs = 30_000
const progressEveryMs = 10_000

export interface AppProcessOptions {
  /** Names it in progress lines and errors. */
  name: string
  /** Its variables over this process's own; PORT and HOST are set here. */
  env: Record<string, string>
  /** A free one when left out. */
  port?: number
  /** A file for its stdout and stderr, or a function for each line of its stdout (stderr passes through). */
  output: string | ((line: string) => void)
  /** Appends to the output file instead of starting it afresh (a restart keeps what came before). */
  appendOutput?: boolean
  /**
   * Relative to the repository: runtime/main.ts by default; the bench runs the built
   * dist/runtime/main.js, and its bare HTTP server in place of the app.
   */
  entry?: string
  /** Progress lines while it starts. */
  log?: Log
  /** Aborting it while the process starts stops it. */
  signal?: AbortSignal
  /** It exited after it was ready, without stop(): its exit code, or the signal that ended it. */
  onExit?: (how: number | NodeJS.Signals) => void
  /** How long it may take to be ready (default 90 s). */
  readyWithinMs?: number
}

export interface AppProcess {
  name: string
  url: string
  /** The node process's id: the bench reads its memory from /proc. */
  pid: number
  /** Settles with the exit code (null after a signal) once it exited and its output is read. */
  exited: Promise<number | null>
  /** SIGTERM, then SIGKILL after 30 s; resolves with the exit code; safe to call more than once. */
  stop(): Promise<number | null>
  /** SIGKILL (a crash, for the fault suite); resolves once it exited. */
  kill(): Promise<number | null>
}

/** Spawns the app (`node runtime/main.ts`) and resolves once its /readyz answers 200. */
export async function startAppProcess(options: AppProcessOptions): Promise<AppProcess> {
  const { name, output, log = () => {}, entry = 'runtime/main.ts' } = options
  const port = options.port ?? (await freePort())
  if (options.port) await assertPortFree(port, `${name} port`)
  const url = `http://127.0.0.1:${port}`
  if (typeof output === 'string' && !options.appendOutput) await writeFile(output, '')
  const toFile = typeof output === 'string' && { file: output, append: true }
  const child = watched(
    execa(process.execPath, [...nodeArgs(entry), entry], {
      cwd: repoRoot,
      env: { ...options.env, PORT: String(port), HOST: '127.0.0.1' },
      stdin: 'ignore',
      stdout: toFile || 'pipe',
      stderr: toFile || 'inherit',
      // stop(): SIGTERM, and SIGKILL if it has not exited after this long.
      forceKillAfterDelay: killAfterMs,
      buffer: false,
      reject: false,
    }),
  )
  if (typeof output === 'function' && child.stdout) {
    createInterface({ input: child.stdout }).on('line', output)
  }
  const exitedEarly = new AbortController()
  let how: number | NodeJS.Signals = 0
  const exited = child.then(({ exitCode, signal }) => {
    how = exitCode ?? signal ?? 0
    exitedEarly.abort(how)
    return exitCode ?? null
  })
  let stopping: Promise<number | null> | undefined
  const stop = () => {
    stopping ??= (async () => {
      child.kill('SIGTERM')
      return exited
    })()
    return stopping
  }

  const readyWithinMs = options.readyWithinMs ?? defaultReadyWithinMs
  const notReady = AbortSignal.timeout(readyWithinMs)
  const signal = AbortSignal.any([
    exitedEarly.signal,
    notReady,
    ...(options.signal ? [options.signal] : []),
  ])
  const began = performance.now()
  let answer = 'no answer yet'
  const progress = setInterval(() => {
    const seconds = Math.round((performance.now() - began) / 1000)
    log(`waiting for the ${name} process to be ready (${seconds} s; /readyz: ${answer})`)
  }, progressEveryMs)
  try {
    await poll(
      async () => {
        const response = await fetch(`${url}/readyz`, { signal }).catch(() => undefined)
        await response?.body?.cancel()
        answer = response ? String(response.status) : 'no answer'
        return response?.ok || undefined
      },
      { signal },
    )
  } catch (error) {
    const why = exitedEarly.signal.aborted
      ? `exited (${exitedEarly.signal.reason}) before it was ready`
      : notReady.aborted
        ? `was not ready within ${readyWithinMs / 1000} s`
        : undefined
    await stop()
    if (!why) throw error
    const logTail = typeof output === 'string' ? `; ${output}:\n${await tail(output)}` : ''
    throw new Error(`the ${name} process ${why}${logTail}`)
  } finally {
    clearInterval(progress)
  }
  log(`${name} ready`)
  void exited.then(() => {
    if (!stopping) options.onExit?.(how)
  })
  const kill = () => {
    stopping ??= (async () => {
      child.kill('SIGKILL')
      return exited
    })()
    return stopping
  }
  return { name, url, pid: child.pid ?? 0, exited, stop, kill }
}

// --- The harness.

export type ProcessSpec = Pick<AppProcessOptions, 'port' | 'output' | 'entry'> & {
  /** Also its identity: its own Kafka and Elasticsearch users, with the chart's privileges. */
  role: 'api' | 'consumer'
  /** Its role when left out. */
  name?: string
  /** Variables over the harness's, for this process only. */
  env?: Record<string, string>
}

export interface HarnessOptions {
  /** The stack's data, logs and pid files. */
  dataDir: string
  /**
   * Kafka node n (from 0) listens on kafka + 3n, its controller on kafka + 3n + 1;
   * Elasticsearch's transport on elasticsearch + 100.
   */
  ports: { kafka: number; elasticsearch: number }
  /** KRaft nodes: 1 (default) or 3, the chart's replication (the fault suite). */
  kafkaNodes?: 1 | 3
  /** A proxy's port in front of each node, advertised by a second listener (stack.ts). */
  kafkaProxiedPorts?: number[]
  /** How long Kafka, Elasticsearch and each app process may take to be ready (their defaults). */
  readyWithinMs?: number
  /**
   * Gives the processes a topic, a consumer group and an index of this run's own, which stop()
   * deletes with the run's other `topics` (created with the app's) and `indices`. Without it
   * they use the defaults, which stay (npm start).
   */
  run?: { name: string; topics?: TopicSpec[]; indices?: string[] }
  /** Variables every app process gets. */
  env?: Record<string, string>
  /** Started together; `ready` waits for them. */
  processes?: ProcessSpec[]
  log: Log
  /** A process exited after it was ready, without stop(): its exit code or the signal. */
  onExit?: (name: string, how: number | NodeJS.Signals) => void
}

export interface Harness {
  /**
   * Settles once the stack runs, the topics exist and the `processes` are ready. On a failure
   * the harness stops what it started, then rejects.
   */
  ready: Promise<{
    stack: RunningStack
    /** Each identity's environment, with the run's names. */
    env: Record<StackIdentity, Record<string, string>>
    /** The stack's admin, with the run's names: for what the app may not do (tests' checks). */
    config: Config
    /** The `processes`, in their order. */
    processes: AppProcess[]
  }>
  /**
   * The declared topics and the identities' ACLs under one more name prefix (a bench's second
   * set of topics, a test file's own group); a run's stop() removes them again.
   */
  addNames(prefix: string): Promise<void>
  /** One more app process, once ready; its stop() takes it out again. */
  start(spec: ProcessSpec): Promise<AppProcess>
  /**
   * Stops the app processes, deletes the run's topics and indices, stops the stack: in that
   * order, once. Called while starting, it waits for the stack to be up, then stops it.
   */
  stop(): Promise<void>
}

export function startHarness(options: HarnessOptions): Harness {
  const { log, run } = options
  const stopRequested = new AbortController()
  const starting = new Set<Promise<AppProcess>>()
  const running = new Set<AppProcess>()
  // Undone in reverse order by stop(), each step whatever the previous one did.
  const undo: { what: string; step: () => Promise<unknown> }[] = []
  let stackStarting = true

  /** Topics as the admin, then ACLs (Kafka's own tool, a few seconds); undone in reverse at stop. */
  const addNames = async (
    stack: RunningStack,
    config: Config,
    prefix: string,
    extraTopics: TopicSpec[] = [],
  ) => {
    const topics = [...(await topicSpecs(prefix, config.KAFKA_BROKERS.length)), ...extraTopics]
    if (run) {
      undo.push(
        {
          what: `deleting the topics under ${prefix}`,
          step: () =>
            withKafkaAdmin(config, (admin) => admin.deleteTopics(topics.map((t) => t.name))),
        },
        { what: `revoking the ACLs under ${prefix}`, step: () => stack.kafka.revokeAcls(prefix) },
      )
    }
    log(`creating the declared topics${prefix ? ` under ${prefix}` : ''}`)
    await withKafkaAdmin(config, (admin) => admin.ensureTopics(topics))
    log(`granting the API and the consumer their ACLs${prefix ? ` under ${prefix}` : ''}`)
    await stack.kafka.grantAcls(prefix)
  }

  const base = (async () => {
    const stack = await startStack({
      dataDir: options.dataDir,
      kafkaPort: options.ports.kafka,
      kafkaNodes: options.kafkaNodes,
      kafkaProxiedPorts: options.kafkaProxiedPorts,
      readyWithinMs: options.readyWithinMs,
      elasticsearchPort: options.ports.elasticsearch,
      elasticsearchTransportPort: options.ports.elasticsearch + 100,
      log,
      signal: stopRequested.signal,
    }).finally(() => {
      stackStarting = false
    })
    undo.push({ what: 'stopping Kafka and Elasticsearch', step: () => stack.stop() })
    stopRequested.signal.throwIfAborted()
    const names = { ...(run && runEnvironment(run.name)), ...options.env }
    const env = Object.fromEntries(
      (['api', 'consumer', 'setup', 'admin'] as const).map((identity) => [
        identity,
        { ...appEnvironment(stack, identity), ...names },
      ]),
    ) as Record<StackIdentity, Record<string, string>>
    const config = loadConfig({ ...process.env, ...env.admin })
    if (run) {
      undo.push({
        what: `deleting run ${run.name}'s indices`,
        step: () => deleteIndices(config, [config.ELASTICSEARCH_INDEX, ...(run.indices ?? [])]),
      })
    }
    await addNames(stack, config, config.KAFKA_NAME_PREFIX, run?.topics ?? [])
    log('putting the index template and the index, as the setup identity')
    await setUpStore(loadConfig({ ...process.env, ...env.setup }), createLogger('warn', 'setup'))
    return { stack, env, config }
  })()

  // Each log file is started afresh once per harness; a restarted process appends to its
  // predecessor's, whose last words tell why it was replaced.
  const outputs = new Set<ProcessSpec['output']>()
  const start = async (spec: ProcessSpec): Promise<AppProcess> => {
    const { env } = await base
    stopRequested.signal.throwIfAborted()
    const name = spec.name ?? spec.role
    const appendOutput = outputs.has(spec.output)
    outputs.add(spec.output)
    const started = startAppProcess({
      ...spec,
      name,
      appendOutput,
      env: { ...env[spec.role], ROLE: spec.role, ...spec.env },
      log,
      readyWithinMs: options.readyWithinMs,
      signal: stopRequested.signal,
      onExit: (how) => {
        if (!stopRequested.signal.aborted) options.onExit?.(name, how)
      },
    })
    starting.add(started)
    try {
      const app = await started
      running.add(app)
      void app.exited.then(() => running.delete(app))
      return app
    } finally {
      starting.delete(started)
    }
  }

  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= (async () => {
      stopRequested.abort(new Error('the local harness is stopping'))
      if (stackStarting) log('stopping Kafka and Elasticsearch while they start')
      await Promise.allSettled([base, ...starting])
      if (running.size > 0) {
        log(`stopping ${[...running].map((app) => app.name).join(', ')}`)
        await Promise.all([...running].map((app) => app.stop()))
      }
      for (const { what, step } of undo.reverse()) {
        log(what)
        await step().catch((error: unknown) => log(`${what} failed: ${String(error)}`))
      }
    })()
    return stopped
  }

  const ready = base
    .then(async (started) => ({
      ...started,
      processes: await Promise.all((options.processes ?? []).map(start)),
    }))
    .catch(async (error: unknown) => {
      await stop()
      throw error
    })
  return {
    ready,
    start,
    stop,
    addNames: async (prefix) => {
      const { stack, config } = await base
      await addNames(stack, config, prefix)
    },
  }
}

async function deleteIndices(config: Config, indices: string[]): Promise<void> {
  const client = createElasticsearchClient(config)
  try {
    for (const index of indices) {
      await client.indices.delete({ index }, { ignore: [404] })
      // The store's setup puts this template beside its index.
      await client.indices.deleteIndexTemplate({ name: `${index}-template` }, { ignore: [404] })
    }
  } finally {
    await client.close()
  }
}
