import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { createLogger } from '../../runtime/logger.ts'
import { retry } from '../../runtime/retry.ts'
import { poll } from '../../runtime/wait.ts'
import type { Jdk } from './java.ts'
import type { KafkaAcl } from './privileges.ts'
import { type Daemon, type Log, run, startDaemon, tail } from './proc.ts'

export interface KafkaNodePorts {
  /** The client listener (SASL SCRAM-SHA-512), also used between brokers. */
  port: number
  controllerPort: number
  /**
   * A second client listener on `port`, advertised as `advertisedPort`, where a proxy in front of
   * this node listens: clients bootstrapped there reach every node through its proxy.
   */
  proxied?: { port: number; advertisedPort: number }
}

export interface KafkaSetup {
  dataDir: string
  kafkaHome: string
  jdk: Jdk
  /** One KRaft node (broker and controller) each; node ids count from 1. */
  nodes: KafkaNodePorts[]
  /** The stack's own super user (topics, ACLs); the app's identities never are one. */
  admin: Secret
  /** The controller listener's static PLAIN password (KRaft checks SCRAM too late for it). */
  controllerPassword: string
  /** The app's SCRAM users, created with the storage. */
  users: Secret[]
  log: Log
}

export interface Secret {
  username: string
  password: string
}

// Log to stdout (captured into dataDir/logs/kafka*.log) instead of Kafka's default log files.
const log4j2 = `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
`

/** Node 1 of a one-node stack keeps the names it always had; nodes of a cluster are numbered. */
function kafkaNodeName(nodes: number, id: number): string {
  return nodes === 1 ? 'kafka' : `kafka-${id}`
}

/** The internal topics' replication: as the chart's three nodes (3, min 2), or 1 on one node. */
function replicationProperties(nodes: number): string {
  const replicas = Math.min(3, nodes)
  const minIsr = Math.min(2, replicas)
  return `default.replication.factor=${replicas}
min.insync.replicas=${minIsr}
offsets.topic.replication.factor=${replicas}
transaction.state.log.replication.factor=${replicas}
transaction.state.log.min.isr=${minIsr}
share.coordinator.state.topic.replication.factor=${replicas}
share.coordinator.state.topic.min.isr=${minIsr}
${nodes === 1 ? 'offsets.topic.num.partitions=1\n' : ''}`
}

/**
 * One KRaft node (broker + controller) on 127.0.0.1, authorizing like the cluster's Strimzi
 * `simple` authorization: clients authenticate with SCRAM-SHA-512 over SASL_PLAINTEXT, and the
 * StandardAuthorizer refuses whatever no ACL allows. The broker's inter-broker connections use
 * the client listener as the admin super user, so no extra port is needed. The controller
 * listener needs credentials too (PLAIN with a static user: SCRAM cannot be checked before the
 * metadata log is loaded, and a PLAINTEXT controller would let anyone on the machine manage it).
 */
function serverProperties(s: KafkaSetup, id: number, logDir: string): string {
  const node = s.nodes[id - 1] as KafkaNodePorts
  const voters = s.nodes.map((n, i) => `${i + 1}@127.0.0.1:${n.controllerPort}`).join(',')
  const scram = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${s.admin.username}" password="${s.admin.password}";`
  const proxied = node.proxied
  return `process.roles=broker,controller
node.id=${id}
controller.quorum.voters=${voters}
listeners=CLIENT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}${proxied ? `,PROXIED://127.0.0.1:${proxied.port}` : ''}
advertised.listeners=CLIENT://127.0.0.1:${node.port}${proxied ? `,PROXIED://127.0.0.1:${proxied.advertisedPort}` : ''}
listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,PROXIED:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=${scram}
listener.name.proxied.scram-sha-512.sasl.jaas.config=${scram}
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="${s.controllerPassword}" user_controller="${s.controllerPassword}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:${s.admin.username};User:controller
log.dirs=${logDir}
num.partitions=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
${replicationProperties(s.nodes.length)}`
}

/**
 * A random cluster id in Kafka's form (16 bytes, base64url). Like Kafka's own Uuid.randomUuid,
 * never one that starts with '-': the storage tool would read it as an option and fail.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/** A running node: the fault suite kills, freezes and restarts it. */
export interface KafkaNode {
  id: number
  port: number
  /** The current process; a restart replaces it. */
  daemon(): Daemon
  /** SIGKILL, and waits until it has exited. */
  kill(): Promise<void>
  /** Starts it again on its data and waits until it logged "Kafka Server started". */
  restart(): Promise<void>
  /** SIGSTOP: alive but answering nothing (a long GC pause, a stalled disk). */
  freeze(): void
  /** SIGCONT after freeze(). */
  thaw(): void
}

interface NodeFiles {
  dir: string
  logDir: string
  propertiesFile: string
  log4jFile: string
  logFile: string
  pidFile: string
}

/** Where node `id` keeps its config, data, log and pid file. */
export function nodeFiles(dataDir: string, nodes: number, id: number): NodeFiles {
  const name = kafkaNodeName(nodes, id)
  const dir = join(dataDir, name)
  return {
    dir,
    logDir: join(dir, 'data'),
    propertiesFile: join(dir, 'server.properties'),
    log4jFile: join(dir, 'log4j2.properties'),
    logFile: join(dataDir, 'logs', `${name}.log`),
    pidFile: join(dataDir, 'run', `${name}.pid`),
  }
}

const java = (s: KafkaSetup) => join(s.jdk.home, 'bin', 'java')
const classpath = (s: KafkaSetup) => join(s.kafkaHome, 'libs', '*')

/**
 * Formats the nodes' storage once per dataDir (all of them with one cluster id, the SCRAM users
 * created with it); a cluster with any node unformatted is formatted afresh.
 */
async function formatStorage(s: KafkaSetup, files: NodeFiles[]): Promise<void> {
  if (files.every((f) => existsSync(join(f.logDir, 'meta.properties')))) return
  s.log(`formatting Kafka storage with the SCRAM users (${s.nodes.length} node(s), about 5-10 s)`)
  const clusterId = newClusterId()
  await Promise.all(
    files.map(async (f) => {
      await rm(f.logDir, { recursive: true, force: true })
      await run(
        java(s),
        [
          `-Dlog4j2.configurationFile=${f.log4jFile}`,
          '-XX:TieredStopAtLevel=1',
          '-cp',
          classpath(s),
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId,
          '-c',
          f.propertiesFile,
          ...[s.admin, ...s.users].flatMap(({ username, password }) => [
            '--add-scram',
            `SCRAM-SHA-512=[name=${username},password=${password}]`,
          ]),
        ],
        { logFile: join(s.dataDir, 'logs', 'kafka-format.log') },
      )
    }),
  )
}

function launch(s: KafkaSetup, f: NodeFiles): Promise<Daemon> {
  // Three JVMs share the machine with Elasticsearch: a smaller heap each (enough, measured).
  const heap = process.env.ICECREAM_KAFKA_HEAP || (s.nodes.length === 1 ? '512m' : '384m')
  return startDaemon(
    java(s),
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-XX:+UseG1GC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${f.log4jFile}`,
      '-cp',
      classpath(s),
      'kafka.Kafka',
      f.propertiesFile,
    ],
    {
      logFile: f.logFile,
      pidFile: f.pidFile,
      env: { ...process.env, KAFKA_HEAP_OPTS: '' },
      cwd: f.dir,
    },
  )
}

/** Waits for "Kafka Server started" in this run of the node's log, until `signal` aborts. */
async function waitForStarted(daemon: Daemon, logFile: string, signal: AbortSignal): Promise<void> {
  await poll(async () => (await daemon.output()).includes('Kafka Server started') || undefined, {
    signal: AbortSignal.any([daemon.ended, signal]),
    intervalMs: 500,
  }).catch(async (error: unknown) => {
    if (daemon.ended.aborted) {
      throw await failure(logFile, `exited with code ${daemon.ended.reason} while starting`)
    }
    if (signal.aborted) throw await failure(logFile, 'did not start in time')
    throw error
  })
}

/** A restarted node replays its log; on a busy machine that has taken minutes. */
const restartWithinMs = 300_000

const failure = async (logFile: string, why: string) =>
  new Error(`Kafka ${why}; last lines of ${logFile}:\n${await tail(logFile)}`)

export async function startKafka(s: KafkaSetup): Promise<KafkaNode[]> {
  const files = s.nodes.map((_, i) => nodeFiles(s.dataDir, s.nodes.length, i + 1))
  await Promise.all(
    files.map(async (f, i) => {
      await mkdir(f.dir, { recursive: true })
      await writeFile(f.propertiesFile, serverProperties(s, i + 1, f.logDir), { mode: 0o600 })
      await writeFile(f.log4jFile, log4j2)
    }),
  )
  await formatStorage(s, files)
  s.log(
    `starting Kafka on 127.0.0.1:${s.nodes.map((n) => n.port).join(',')} with Java ${s.jdk.major} (${s.jdk.home})`,
  )
  return Promise.all(
    files.map(async (f, i) => {
      let daemon = await launch(s, f)
      const id = i + 1
      const signal = (name: NodeJS.Signals) => process.kill(daemon.pid, name)
      return {
        id,
        port: (s.nodes[i] as KafkaNodePorts).port,
        daemon: () => daemon,
        async kill() {
          signal('SIGKILL')
          await daemon.exited
        },
        async restart() {
          daemon = await launch(s, f)
          await waitForStarted(daemon, f.logFile, AbortSignal.timeout(restartWithinMs))
        },
        freeze: () => signal('SIGSTOP'),
        thaw: () => signal('SIGCONT'),
      }
    }),
  )
}

/**
 * Ready means: every node logged "Kafka Server started", a SASL client can authenticate, and the
 * group coordinator answers (a fresh broker creates __consumer_offsets on the first lookup and
 * answers "coordinator not available" until then, which would otherwise hit the first test).
 */
export async function waitForKafka(
  s: KafkaSetup,
  nodes: KafkaNode[],
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = AbortSignal.timeout(timeoutMs)
  await Promise.all(
    nodes.map((node) =>
      waitForStarted(
        node.daemon(),
        nodeFiles(s.dataDir, s.nodes.length, node.id).logFile,
        deadline,
      ),
    ),
  )
  const client = createKafkaClient(
    {
      KAFKA_CLIENT: 'kafkajs',
      KAFKA_BROKERS: s.nodes.map((n) => `127.0.0.1:${n.port}`),
      KAFKA_CLIENT_ID: 'icecream-local-stack',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_USERNAME: s.admin.username,
      KAFKA_PASSWORD: s.admin.password,
      KAFKA_SSL: false,
    },
    createLogger('silent', 'local-stack'),
  )
  try {
    await retry(
      async () => {
        const admin = await client.admin()
        try {
          await admin.ping()
          // Reading a group's offsets looks up its coordinator, which creates __consumer_offsets.
          await admin.lag('icecream-local-stack-readiness', '__consumer_offsets')
        } finally {
          await admin.disconnect()
        }
      },
      {
        // Until the deadline: three busy nodes have taken more than ten tries to load the
        // group coordinator's partitions.
        policy: { attempts: Infinity, initialDelayMs: 250, maxDelayMs: 2_000 },
        signal: deadline,
        onRetry: (error, attempt) => s.log(`Kafka not usable yet (try ${attempt}): ${error}`),
      },
    )
  } catch (error) {
    throw await failure(
      nodeFiles(s.dataDir, s.nodes.length, 1).logFile,
      `started but a SASL client could not use it (${(error as Error).message})`,
    )
  }
}

/**
 * Adds (or with `remove`, removes) ACLs with Kafka's own AclCommand as the admin user. One JVM
 * per principal and operation set (about 3 s each, run side by side); adding is idempotent.
 */
export async function changeAcls(
  s: KafkaSetup,
  acls: KafkaAcl[],
  action: 'add' | 'remove',
): Promise<void> {
  const adminProperties = join(nodeFiles(s.dataDir, s.nodes.length, 1).dir, 'admin.properties')
  await writeFile(
    adminProperties,
    `security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${s.admin.username}" password="${s.admin.password}";
# The calls run side by side (one per principal, operations and pattern): on a busy machine the
# default minute is not always enough.
default.api.timeout.ms=180000
`,
    { mode: 0o600 },
  )
  const calls = Map.groupBy(
    acls,
    (acl) => `${acl.principal} ${acl.operations.join(',')} ${acl.patternType}`,
  )
  await Promise.all(
    [...calls.values()].map((group) => {
      const [{ principal, operations, patternType }] = group as [KafkaAcl, ...KafkaAcl[]]
      return run(
        join(s.jdk.home, 'bin', 'java'),
        [
          '-XX:TieredStopAtLevel=1',
          '-XX:+UseSerialGC',
          '-Xmx256m',
          '-cp',
          join(s.kafkaHome, 'libs', '*'),
          'org.apache.kafka.tools.AclCommand',
          '--bootstrap-server',
          s.nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
          '--command-config',
          adminProperties,
          `--${action}`,
          ...(action === 'remove' ? ['--force'] : []),
          '--allow-principal',
          principal,
          ...operations.flatMap((operation) => ['--operation', operation]),
          ...group.flatMap(({ resourceType, name }) => [`--${resourceType}`, name]),
          '--resource-pattern-type',
          patternType === 'prefix' ? 'prefixed' : 'literal',
        ],
        { logFile: join(s.dataDir, 'logs', 'kafka-acls.log') },
      )
    }),
  )
}
