import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { createLogger } from '../../runtime/logger.ts'
import { retry } from '../../runtime/retry.ts'
import type { Jdk } from './java.ts'
import type { KafkaAcl } from './privileges.ts'
import { type Daemon, type Log, run, startDaemon, tail } from './proc.ts'

export interface KafkaSetup {
  dataDir: string
  kafkaHome: string
  jdk: Jdk
  port: number
  controllerPort: number
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

// Log to stdout (captured into dataDir/logs/kafka.log) instead of Kafka's default log files.
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

/**
 * One KRaft node (broker + controller) on 127.0.0.1, authorizing like the cluster's Strimzi
 * `simple` authorization: clients authenticate with SCRAM-SHA-512 over SASL_PLAINTEXT, and the
 * StandardAuthorizer refuses whatever no ACL allows. The broker's inter-broker connections use
 * the client listener as the admin super user, so no extra port is needed. The controller
 * listener needs credentials too (PLAIN with a static user: SCRAM cannot be checked before the
 * metadata log is loaded, and a PLAINTEXT controller would let anyone on the machine manage it).
 */
function serverProperties(s: KafkaSetup, logDir: string): string {
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${s.controllerPort}
listeners=CLIENT://127.0.0.1:${s.port},CONTROLLER://127.0.0.1:${s.controllerPort}
advertised.listeners=CLIENT://127.0.0.1:${s.port}
listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${s.admin.username}" password="${s.admin.password}";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="${s.controllerPassword}" user_controller="${s.controllerPassword}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:${s.admin.username};User:controller
log.dirs=${logDir}
num.partitions=1
auto.create.topics.enable=false
# One node: internal topics with more replicas than brokers never become available.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
`
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

export async function startKafka(s: KafkaSetup): Promise<Daemon> {
  const dir = join(s.dataDir, 'kafka')
  const logDir = join(dir, 'data')
  const propertiesFile = join(dir, 'server.properties')
  const log4jFile = join(dir, 'log4j2.properties')
  const logFile = join(s.dataDir, 'logs', 'kafka.log')
  await mkdir(dir, { recursive: true })
  await writeFile(propertiesFile, serverProperties(s, logDir), { mode: 0o600 })
  await writeFile(log4jFile, log4j2)

  const java = join(s.jdk.home, 'bin', 'java')
  const classpath = join(s.kafkaHome, 'libs', '*')
  const log4jOption = `-Dlog4j2.configurationFile=${log4jFile}`
  // Storage is formatted once per dataDir; the SCRAM users are created with it.
  if (!existsSync(join(logDir, 'meta.properties'))) {
    s.log('formatting Kafka storage with the SCRAM users (about 5 s)')
    const clusterId = newClusterId()
    await run(
      java,
      [
        log4jOption,
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        propertiesFile,
        ...[s.admin, ...s.users].flatMap(({ username, password }) => [
          '--add-scram',
          `SCRAM-SHA-512=[name=${username},password=${password}]`,
        ]),
      ],
      { logFile: join(s.dataDir, 'logs', 'kafka-format.log') },
    )
  }

  s.log(`starting Kafka on 127.0.0.1:${s.port} with Java ${s.jdk.major} (${s.jdk.home})`)
  const heap = process.env.ICECREAM_KAFKA_HEAP || '512m'
  return startDaemon(
    java,
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-XX:+UseG1GC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      log4jOption,
      '-cp',
      classpath,
      'kafka.Kafka',
      propertiesFile,
    ],
    {
      logFile,
      pidFile: join(s.dataDir, 'run', 'kafka.pid'),
      env: { ...process.env, KAFKA_HEAP_OPTS: '' },
      cwd: dir,
    },
  )
}

/**
 * Ready means: the broker logged "Kafka Server started", a SASL client can authenticate, and the
 * group coordinator answers (a fresh broker creates __consumer_offsets on the first lookup and
 * answers "coordinator not available" until then, which would otherwise hit the first test).
 */
export async function waitForKafka(
  s: KafkaSetup,
  daemon: Daemon,
  timeoutMs = 180_000,
): Promise<void> {
  const logFile = join(s.dataDir, 'logs', 'kafka.log')
  const deadline = Date.now() + timeoutMs
  let exitCode: number | null | undefined
  daemon.exited.then((code) => {
    exitCode = code
  })
  const fail = async (why: string) =>
    new Error(`Kafka ${why}; last lines of ${logFile}:\n${await tail(logFile)}`)

  for (;;) {
    if (exitCode !== undefined) throw await fail(`exited with code ${exitCode} while starting`)
    if (Date.now() > deadline) throw await fail(`did not start within ${timeoutMs / 1000} s`)
    if ((await daemon.output()).includes('Kafka Server started')) break
    await sleep(500)
  }

  const client = createKafkaClient(
    {
      KAFKA_CLIENT: 'kafkajs',
      KAFKA_BROKERS: [`127.0.0.1:${s.port}`],
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
        policy: { attempts: 10, initialDelayMs: 250, maxDelayMs: 2_000 },
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
        onRetry: (error, attempt) => s.log(`Kafka not usable yet (try ${attempt}): ${error}`),
      },
    )
  } catch (error) {
    throw await fail(`started but a SASL client could not use it (${(error as Error).message})`)
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
  const adminProperties = join(s.dataDir, 'kafka', 'admin.properties')
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
          `127.0.0.1:${s.port}`,
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
