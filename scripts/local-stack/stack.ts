import { randomBytes } from 'node:crypto'
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type ElasticsearchSetup,
  exportCa,
  prepareElasticsearch,
  startElasticsearch,
  waitForElasticsearch,
} from './elasticsearch.ts'
import { fetchElasticsearch, fetchKafka } from './fetch.ts'
import { findJdks, pickJdk } from './java.ts'
import {
  changeAcls,
  type KafkaNode,
  type KafkaSetup,
  nodeFiles,
  type Secret,
  startKafka,
  waitForKafka,
} from './kafka.ts'
import {
  type ElasticsearchIdentity,
  elasticsearchRole,
  elasticsearchRoles,
  type Identity,
  kafkaAcls,
  readPrivileges,
} from './privileges.ts'
import { assertPortFree, type Daemon, stopStale } from './proc.ts'
import { readChartDefaults } from './versions.ts'

export interface StackOptions {
  /** Where Kafka/ES data, config, logs and pid files for this stack live. */
  dataDir: string
  /**
   * Node n (from 0) listens for clients on kafkaPort + 3n and for its controller on
   * kafkaPort + 3n + 1 (and behind its proxy, with `kafkaProxiedPorts`, on kafkaPort + 3n + 2).
   */
  kafkaPort: number
  /** KRaft nodes, each broker and controller: 1 (default) or 3 as the chart deploys. */
  kafkaNodes?: 1 | 3
  /** A proxy's port per node, advertised by a second listener of that node (the fault suite's). */
  kafkaProxiedPorts?: number[]
  /** HTTPS */
  elasticsearchPort: number
  elasticsearchTransportPort: number
  /** Progress lines (default: stderr). */
  log?: (line: string) => void
  /** How long Kafka and Elasticsearch each may take to be ready (default: their own, 180 and 240 s). */
  readyWithinMs?: number
  /** Aborting it while the stack starts stops what has started, and the start rejects. */
  signal?: AbortSignal
}

/** The running Elasticsearch node, for the fault suite's outages. */
export interface ElasticsearchProcess {
  /** SIGTERM, and waits until it has exited. */
  stop(): Promise<void>
  /** Starts it again on its data and waits until it is healthy. */
  start(): Promise<void>
  /** SIGSTOP: alive but answering nothing. */
  freeze(): void
  /** SIGCONT after freeze(). */
  thaw(): void
}

export interface RunningStack {
  kafka: {
    brokers: string[]
    /** Each node's second listener, reached through its proxy (with `kafkaProxiedPorts`). */
    proxiedBrokers: string[]
    /** Per node: kill, restart, freeze (the fault suite). */
    nodes: KafkaNode[]
    mechanism: 'scram-sha-512'
    /** The stack's super user: topics and ACLs. The app never connects as it. */
    admin: Secret
    users: Record<Identity, Secret>
    /** Grants each identity its ACLs (chart/files/privileges.yaml) on the names with this prefix. */
    grantAcls(namePrefix: string): Promise<void>
    revokeAcls(namePrefix: string): Promise<void>
  }
  elasticsearch: {
    url: string
    caFile: string
    /** A superuser for the stack's own checks and clean-up. The app never connects as it. */
    admin: Secret
    users: Record<ElasticsearchIdentity, Secret>
    /** Stop, start, freeze and thaw it (the fault suite). */
    process: ElasticsearchProcess
  }
  versions: { kafka: string; elasticsearch: string }
  /** SIGTERM both, wait for exit (SIGKILL after a timeout); safe to call more than once. */
  stop(): Promise<void>
}

/** Bump when the stack's users change: older storage is formatted afresh with the new ones. */
const credentialsVersion = 2

interface Credentials {
  version: typeof credentialsVersion
  kafka: { admin: Secret; controllerPassword: string; users: Record<Identity, Secret> }
  elasticsearch: { admin: Secret; users: Record<ElasticsearchIdentity, Secret> }
}

/**
 * Generated once per dataDir and reused: Kafka's SCRAM users live in its formatted storage, so
 * credentials of an older layout mean formatting that storage afresh.
 */
async function credentials(dataDir: string, log: (line: string) => void): Promise<Credentials> {
  const file = join(dataDir, 'credentials.json')
  const kept = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as Partial<Credentials>,
    () => undefined,
  )
  if (kept?.version === credentialsVersion) return kept as Credentials
  if (kept) {
    log("the stack's users changed since this dataDir was made: formatting Kafka afresh")
    for (const { dir } of anyKafkaNodes(dataDir)) {
      await rm(join(dir, 'data'), { recursive: true, force: true })
    }
  }
  // Hex, not base64url: a password starting with '-' would be read as an option by the CLIs.
  const secret = (username: string) => ({ username, password: randomBytes(18).toString('hex') })
  const created: Credentials = {
    version: credentialsVersion,
    kafka: {
      admin: secret('admin'),
      controllerPassword: randomBytes(18).toString('hex'),
      users: { api: secret('icecream-api'), consumer: secret('icecream-consumer') },
    },
    elasticsearch: {
      admin: secret('admin'),
      users: {
        api: secret('icecream-api'),
        consumer: secret('icecream-consumer'),
        setup: secret('icecream-setup'),
      },
    },
  }
  await writeFile(file, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600 })
  return created
}

/** The nodes of a one-node and of a three-node stack in a dataDir: what a previous run may have left. */
function anyKafkaNodes(dataDir: string) {
  return [nodeFiles(dataDir, 1, 1), ...[1, 2, 3].map((id) => nodeFiles(dataDir, 3, id))]
}

async function stopStaleKafka(dataDir: string, log: (line: string) => void): Promise<void> {
  await Promise.all(anyKafkaNodes(dataDir).map(({ pidFile, dir }) => stopStale(pidFile, dir, log)))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Marks this process as the user of the dataDir's stack. Another live process that started a
 * stack there (npm start and a CLI run sharing the default dataDir) is not silently stopped:
 * that is an error. A dead owner's stack is fair game (stopped and restarted).
 */
async function claim(dataDir: string): Promise<void> {
  const file = join(dataDir, 'run', 'owner.pid')
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' })
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error
    }
    const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
    if (owner !== process.pid && Number.isInteger(owner) && alive(owner)) {
      throw new Error(
        `the stack in ${dataDir} is in use by process ${owner}; stop that first ` +
          '(or `npx tsx scripts/local-stack/cli.ts stop <dataDir>`), or use another dataDir',
      )
    }
    await rm(file, { force: true })
  }
}

/**
 * Starts a real Kafka of one or three KRaft nodes (SCRAM-SHA-512 over SASL_PLAINTEXT, the
 * chart's replication on three) and Elasticsearch (HTTPS,
 * file-realm user) for this dataDir, fetching them into the cache on first use.
 * A stack a previous process left running in the same dataDir is stopped first rather than
 * reused: restarting guarantees it runs with these options and versions, for ~30 s.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[local-stack] ${line}\n`))
  const started = Date.now()
  await mkdir(options.dataDir, { recursive: true })
  const dataDir = await realpath(options.dataDir)
  await mkdir(join(dataDir, 'logs'), { recursive: true })
  await mkdir(join(dataDir, 'run'), { recursive: true })

  const daemons: Pick<Daemon, 'stop'>[] = []
  // Each daemon's stop() runs once; calling this again also stops one that started since.
  const stop = async () => {
    await Promise.all(daemons.map((d) => d.stop()))
    await rm(join(dataDir, 'run', 'owner.pid'), { force: true })
  }
  const track = (...started: Pick<Daemon, 'stop'>[]) => {
    daemons.push(...started)
    options.signal?.throwIfAborted()
  }
  await claim(dataDir)
  // A daemon that is stopped while starting fails its wait, so the start rejects soon after.
  // Once started, the stack is stopped by stop() alone, in its turn.
  const stopWhileStarting = () => void stop()
  options.signal?.addEventListener('abort', stopWhileStarting, { once: true })
  try {
    await stopStaleKafka(dataDir, log)
    await stopStale(
      join(dataDir, 'run', 'elasticsearch.pid'),
      await realpath(join(dataDir, 'elasticsearch')).catch(() => 'elasticsearch'),
      log,
    )
    const kafkaNodes = Array.from({ length: options.kafkaNodes ?? 1 }, (_, n) => {
      const port = options.kafkaPort + 3 * n
      const advertisedPort = options.kafkaProxiedPorts?.[n]
      return {
        port,
        controllerPort: port + 1,
        ...(advertisedPort && { proxied: { port: port + 2, advertisedPort } }),
      }
    })
    for (const [n, node] of kafkaNodes.entries()) {
      await assertPortFree(node.port, `Kafka node ${n + 1}'s port`)
      await assertPortFree(node.controllerPort, `Kafka node ${n + 1}'s controller port`)
      if (node.proxied)
        await assertPortFree(node.proxied.port, `Kafka node ${n + 1}'s proxied port`)
    }
    await assertPortFree(options.elasticsearchPort, 'elasticsearchPort')
    await assertPortFree(options.elasticsearchTransportPort, 'elasticsearchTransportPort')

    const { index, ...versions } = await readChartDefaults()
    const jdks = await findJdks()
    const kafkaJdk = pickJdk(jdks, 17, `Kafka ${versions.kafka}`)
    const esJdk = pickJdk(jdks, 21, `Elasticsearch ${versions.elasticsearch}`)
    const [kafkaHome, esDistribution] = await Promise.all([
      fetchKafka(versions.kafka, log),
      fetchElasticsearch(versions.elasticsearch, log),
    ])
    const [creds, privileges] = await Promise.all([credentials(dataDir, log), readPrivileges()])

    const kafkaSetup: KafkaSetup = {
      dataDir,
      kafkaHome,
      jdk: kafkaJdk,
      nodes: kafkaNodes,
      admin: creds.kafka.admin,
      controllerPassword: creds.kafka.controllerPassword,
      users: Object.values(creds.kafka.users),
      log,
    }
    const esSetup: ElasticsearchSetup = {
      dataDir,
      distribution: esDistribution,
      version: versions.elasticsearch,
      jdk: esJdk,
      port: options.elasticsearchPort,
      transportPort: options.elasticsearchTransportPort,
      admin: creds.elasticsearch.admin,
      users: (['api', 'consumer', 'setup'] as const).map((identity) => ({
        ...creds.elasticsearch.users[identity],
        role: elasticsearchRole(identity),
      })),
      // Every local index starts with the chart's (tests and benches add a suffix).
      roles: elasticsearchRoles(privileges, index),
      log,
    }

    const brokers = kafkaNodes.map((node) => `127.0.0.1:${node.port}`)
    const [kafkaStarted, esStarted] = await Promise.allSettled([
      (async () => {
        const nodes = await startKafka(kafkaSetup)
        // A restarted node's daemon replaces its first one: stop whichever runs then.
        track(...nodes.map((node) => ({ stop: () => node.daemon().stop() })))
        await waitForKafka(kafkaSetup, nodes, options.readyWithinMs)
        log(`Kafka ready at ${brokers.join(',')}`)
        return nodes
      })(),
      (async () => {
        const prepared = await prepareElasticsearch(esSetup)
        let es = await startElasticsearch(esSetup, prepared)
        // A restart replaces the first daemon: stop whichever runs then.
        track({ stop: () => es.stop() })
        const caFile = await exportCa(esSetup, prepared)
        await waitForElasticsearch(esSetup, es, caFile, options.readyWithinMs)
        log(`Elasticsearch ready at https://127.0.0.1:${options.elasticsearchPort}`)
        // Its launcher forks the server JVM: signals go to the whole process group.
        const signal = (name: NodeJS.Signals) => process.kill(-es.pid, name)
        const handle: ElasticsearchProcess = {
          stop: () => es.stop(),
          async start() {
            es = await startElasticsearch(esSetup, prepared)
            await waitForElasticsearch(esSetup, es, caFile)
          },
          freeze: () => signal('SIGSTOP'),
          thaw: () => signal('SIGCONT'),
        }
        return { caFile, process: handle }
      })(),
    ])
    if (kafkaStarted.status === 'rejected' || esStarted.status === 'rejected') {
      const errors = [kafkaStarted, esStarted].flatMap((r) =>
        r.status === 'rejected' ? [r.reason as Error] : [],
      )
      throw errors.length === 1
        ? errors[0]
        : new AggregateError(errors, errors.map((e) => e.message).join('\n\n'))
    }
    const { caFile, process: esProcess } = esStarted.value
    const userNames = {
      api: creds.kafka.users.api.username,
      consumer: creds.kafka.users.consumer.username,
    }
    log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s (data in ${dataDir})`)
    return {
      kafka: {
        brokers,
        proxiedBrokers: kafkaNodes.flatMap((node) =>
          node.proxied ? [`127.0.0.1:${node.proxied.advertisedPort}`] : [],
        ),
        nodes: kafkaStarted.value,
        mechanism: 'scram-sha-512',
        admin: creds.kafka.admin,
        users: creds.kafka.users,
        grantAcls: (prefix) =>
          changeAcls(kafkaSetup, kafkaAcls(privileges, userNames, prefix), 'add'),
        revokeAcls: (prefix) =>
          changeAcls(kafkaSetup, kafkaAcls(privileges, userNames, prefix), 'remove'),
      },
      elasticsearch: {
        url: `https://127.0.0.1:${options.elasticsearchPort}`,
        caFile,
        admin: creds.elasticsearch.admin,
        users: creds.elasticsearch.users,
        process: esProcess,
      },
      versions,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  } finally {
    options.signal?.removeEventListener('abort', stopWhileStarting)
  }
}

/** Stops whatever a stack left running in this dataDir, from its pid files, whoever started it (for the CLI). */
export async function stopStack(dataDir: string, log: (line: string) => void): Promise<void> {
  const dir = await realpath(dataDir).catch(() => undefined)
  if (!dir) return
  await Promise.all([
    stopStaleKafka(dir, log),
    stopStale(
      join(dir, 'run', 'elasticsearch.pid'),
      await realpath(join(dir, 'elasticsearch')).catch(() => 'elasticsearch'),
      log,
    ),
  ])
  await rm(join(dir, 'run', 'owner.pid'), { force: true })
}
