/**
 * `npm start`: the whole pipeline on this machine. Starts a real Kafka and Elasticsearch (fetched
 * on first use), creates the topics, runs the API and the consumer as separate processes (as the
 * chart does), waits until both are ready and prints where everything is. Ctrl-C stops it all.
 *
 * Ports: API_PORT (8080), CONSUMER_PORT (8081), KAFKA_PORT (19092), ELASTICSEARCH_PORT (19200);
 * Kafka's controller listens on KAFKA_PORT + 1, Elasticsearch's transport on ELASTICSEARCH_PORT + 100.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { prettyFactory } from 'pino-pretty'
import { loadConfig } from '../runtime/config.ts'
import { createKafkaBroker } from '../runtime/kafka/kafkajs.ts'
import { topicSpecs } from '../runtime/kafka/topics.ts'
import { createLogger } from '../runtime/logger.ts'
import { setUpStore } from '../runtime/main.ts'
import { appEnvironment } from './local-stack/app-env.ts'
import { cacheDir } from './local-stack/fetch.ts'
import { startStack } from './local-stack/stack.ts'

const port = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name} must be a port number, got ${process.env[name]}`)
  }
  return value
}
const ports = {
  api: port('API_PORT', 8080),
  consumer: port('CONSUMER_PORT', 8081),
  kafka: port('KAFKA_PORT', 19092),
  elasticsearch: port('ELASTICSEARCH_PORT', 19200),
}
// kafkajs 2.2.4 sets a negative timer once per process on current Node: harmless, but noise.
const quietNode = ['--disable-warning=TimeoutNegativeWarning']
const say = (line: string) => process.stderr.write(`==> ${line}\n`)
const started = Date.now()

const stack = await startStack({
  dataDir: join(cacheDir(), 'local-stack'),
  kafkaPort: ports.kafka,
  kafkaControllerPort: ports.kafka + 1,
  elasticsearchPort: ports.elasticsearch,
  elasticsearchTransportPort: ports.elasticsearch + 100,
  log: (line) => say(line),
})

const children: ChildProcess[] = []
let stopping = false
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    say('stopping the API, the consumer, Kafka and Elasticsearch')
    await Promise.all(
      children.map(
        (child) =>
          new Promise((done) => {
            if (child.exitCode !== null) return done(undefined)
            child.once('exit', done)
            child.kill('SIGTERM')
          }),
      ),
    )
    await stack.stop()
    say('stopped')
  }
  process.exit(code)
}
process.on('SIGINT', () => void shutdown(0))
process.on('SIGTERM', () => void shutdown(0))

try {
  const logLevel = process.env.LOG_LEVEL ?? 'info'
  const config = loadConfig(appEnvironment(stack, 'admin'))
  say('creating topics, granting ACLs, putting the index template')
  const admin = await createKafkaBroker(config, createLogger('warn', 'start')).admin()
  await admin.ensureTopics(topicSpecs(config, 6, 1))
  await admin.disconnect()
  await stack.kafka.grantAcls('')
  await setUpStore(loadConfig(appEnvironment(stack, 'setup')), createLogger('warn', 'setup'))

  // Pretty logs for a person at a terminal, JSON lines otherwise.
  const pretty = process.stdout.isTTY ? prettyFactory({ colorize: true }) : undefined
  for (const [role, rolePort] of [
    ['api', ports.api],
    ['consumer', ports.consumer],
  ] as const) {
    const child = spawn(process.execPath, [...quietNode, '--import', 'tsx', 'runtime/main.ts'], {
      env: {
        ...process.env,
        ...appEnvironment(stack, role),
        LOG_LEVEL: logLevel,
        ROLE: role,
        PORT: String(rolePort),
        HOST: '127.0.0.1',
        CONSUMER_CONTROL: 'true',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(child)
    createInterface({ input: child.stdout }).on('line', (line) => {
      process.stdout.write(pretty ? pretty(line) : `${line}\n`)
    })
    child.on('exit', (code) => {
      if (!stopping) {
        say(`the ${role} process exited (${code}); stopping everything`)
        void shutdown(1)
      }
    })
  }

  for (const [role, rolePort] of [
    ['API', ports.api],
    ['consumer', ports.consumer],
  ] as const) {
    while (
      !(await fetch(`http://127.0.0.1:${rolePort}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      await sleep(500)
    }
    say(`${role} ready`)
  }

  const api = `http://127.0.0.1:${ports.api}`
  process.stderr.write(`
Ready in ${((Date.now() - started) / 1000).toFixed(0)} s: Kafka ${stack.versions.kafka}, Elasticsearch ${stack.versions.elasticsearch}.
  API            ${api}
  API docs       ${api}/docs   (OpenAPI: ${api}/openapi.json)
  API metrics    ${api}/metrics
  Consumer       http://127.0.0.1:${ports.consumer}/metrics  (health: /readyz)
  Kafka          ${stack.kafka.brokers.join(',')}  (SASL SCRAM-SHA-512; credentials in ${join(cacheDir(), 'local-stack', 'credentials.json')})
  Elasticsearch  ${stack.elasticsearch.url}  (CA ${stack.elasticsearch.caFile})

Try it:
  curl -i -X POST ${api}/purchases -H 'content-type: application/json' \\
    -d '{"shop_id":"7b0d8b4e-8f6a-4a63-9c36-3f1f5bb1e1a1","purchase_id":"'$(cat /proc/sys/kernel/random/uuid)'","timestamp":"2021-12-30 12:00:00+00","scoops":[{"type":"vanilla","quantity":2,"price":250}]}'
  curl '${api}/purchases/7b0d8b4e-8f6a-4a63-9c36-3f1f5bb1e1a1?date=2021-12-30'

Watch the queue buffer:
  curl -X POST http://127.0.0.1:${ports.consumer}/consumer/pause    # consumers stop; POSTs still get 202
  curl -s http://127.0.0.1:${ports.consumer}/metrics | grep '^kafka_consumer_lag'   # after some POSTs: it grows
  curl -X POST http://127.0.0.1:${ports.consumer}/consumer/resume   # and drains

Ctrl-C stops everything.
`)
} catch (error) {
  say(`start failed: ${error instanceof Error ? error.message : String(error)}`)
  await shutdown(1)
}
