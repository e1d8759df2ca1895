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
import { changeAcls, type KafkaSetup, type Secret, startKafka, waitForKafka } from './kafka.ts'
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
  kafkaPort: number
  kafkaControllerPort: number
  /** HTTPS */
  elasticsearchPort: number
  elasticsearchTransportPort: number
  /** Progress lines (default: stderr). */
  log?: (line: string) => void
  /** Aborting it while the stack starts stops what has started, and the start rejects. */
  signal?: AbortSignal
}

export interface RunningStack {
  kafka: {
    brokers: string[]
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
    await rm(join(dataDir, 'kafka', 'data'), { recursive: true, force: true })
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
 * Starts a real single-node Kafka (SCRAM-SHA-512 over SASL_PLAINTEXT) and Elasticsearch (HTTPS,
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

  const daemons: Daemon[] = []
  // Each daemon's stop() runs once; calling this again also stops one that started since.
  const stop = async () => {
    await Promise.all(daemons.map((d) => d.stop()))
    await rm(join(dataDir, 'run', 'owner.pid'), { force: true })
  }
  const track = (daemon: Daemon) => {
    daemons.push(daemon)
    options.signal?.throwIfAborted()
  }
  await claim(dataDir)
  // A daemon that is stopped while starting fails its wait, so the start rejects soon after.
  // Once started, the stack is stopped by stop() alone, in its turn.
  const stopWhileStarting = () => void stop()
  options.signal?.addEventListener('abort', stopWhileStarting, { once: true })
  try {
    await stopStale(join(dataDir, 'run', 'kafka.pid'), join(dataDir, 'kafka'), log)
    await stopStale(
      join(dataDir, 'run', 'elasticsearch.pid'),
      await realpath(join(dataDir, 'elasticsearch')).catch(() => 'elasticsearch'),
      log,
    )
    await assertPortFree(options.kafkaPort, 'kafkaPort')
    await assertPortFree(options.kafkaControllerPort, 'kafkaControllerPort')
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
      port: options.kafkaPort,
      controllerPort: options.kafkaControllerPort,
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

    const [kafkaStarted, esStarted] = await Promise.allSettled([
      (async () => {
        const kafka = await startKafka(kafkaSetup)
        track(kafka)
        await waitForKafka(kafkaSetup, kafka)
        log(`Kafka ready at 127.0.0.1:${options.kafkaPort}`)
      })(),
      (async () => {
        const prepared = await prepareElasticsearch(esSetup)
        const es = await startElasticsearch(esSetup, prepared)
        track(es)
        const caFile = await exportCa(esSetup, prepared)
        await waitForElasticsearch(esSetup, es, caFile)
        log(`Elasticsearch ready at https://127.0.0.1:${options.elasticsearchPort}`)
        return caFile
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
    const caFile = esStarted.value
    const userNames = {
      api: creds.kafka.users.api.username,
      consumer: creds.kafka.users.consumer.username,
    }
    log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s (data in ${dataDir})`)
    return {
      kafka: {
        brokers: [`127.0.0.1:${options.kafkaPort}`],
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
    stopStale(join(dir, 'run', 'kafka.pid'), join(dir, 'kafka'), log),
    stopStale(
      join(dir, 'run', 'elasticsearch.pid'),
      await realpath(join(dir, 'elasticsearch')).catch(() => 'elasticsearch'),
      log,
    ),
  ])
  await rm(join(dir, 'run', 'owner.pid'), { force: true })
}
