/**
 * `npm start`: the whole pipeline on this machine. Starts a real Kafka and Elasticsearch (fetched
 * on first use), creates the topics, runs the API and the consumer as separate processes (as the
 * chart does), waits until both are ready and prints where everything is. Ctrl-C stops it all.
 *
 * Ports: API_PORT (8080), CONSUMER_PORT (8081), KAFKA_PORT (19092), ELASTICSEARCH_PORT (19200);
 * Kafka's controller listens on KAFKA_PORT + 1, Elasticsearch's transport on ELASTICSEARCH_PORT + 100.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { prettyFactory } from 'pino-pretty'
import { cacheDir } from './local-stack/fetch.ts'
import { startHarness } from './local-stack/harness.ts'

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
// The live page's controls are on here, behind a token of this start's own (or yours).
const controlToken = process.env.DEMO_CONTROL_TOKEN || randomBytes(24).toString('base64url')
const say = (line: string) => process.stderr.write(`==> ${line}\n`)
const started = Date.now()
// Pretty logs for a person at a terminal, JSON lines otherwise.
const pretty = process.stdout.isTTY ? prettyFactory({ colorize: true }) : undefined
const output = (line: string) => process.stdout.write(pretty ? pretty(line) : `${line}\n`)

const harness = startHarness({
  dataDir: join(cacheDir(), 'local-stack'),
  ports,
  env: { DEMO_CONTROLS: 'true', DEMO_CONTROL_TOKEN: controlToken },
  processes: [
    { role: 'api', name: 'API', port: ports.api, output },
    { role: 'consumer', port: ports.consumer, output },
  ],
  log: say,
  onExit: (name, code) => {
    say(`the ${name} process exited (${code}); stopping everything`)
    void shutdown(1)
  },
})

let stopping: Promise<never> | undefined
function shutdown(code: number): Promise<never> {
  stopping ??= harness.stop().then(() => {
    say('stopped')
    process.exit(code)
  })
  return stopping
}
process.on('SIGINT', () => void shutdown(0))
process.on('SIGTERM', () => void shutdown(0))

try {
  const { stack } = await harness.ready
  const api = `http://127.0.0.1:${ports.api}`
  process.stderr.write(`
Ready in ${((Date.now() - started) / 1000).toFixed(0)} s: Kafka ${stack.versions.kafka}, Elasticsearch ${stack.versions.elasticsearch}.
  Live page      ${api}/#token=${controlToken}
                 (the controls' token, kept by the page for this tab: ${controlToken})
                 what it shows and what to try: README.md, "The live page"
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

Watch the queue buffer: open the live page, start the load, pause the consumers (lag grows while
POSTs still get 202), resume them (it drains), add a member (partitions move). Or by hand:
  curl -X POST -H 'authorization: Bearer ${controlToken}' ${api}/live/consumers/pause
  curl -s http://127.0.0.1:${ports.consumer}/metrics | grep '^kafka_consumer_lag'   # after some POSTs: it grows
  curl -X POST -H 'authorization: Bearer ${controlToken}' ${api}/live/consumers/resume

Ctrl-C stops everything.
`)
} catch (error) {
  // After Ctrl-C the start fails on purpose: no need to say so.
  if (!stopping) say(`start failed: ${error instanceof Error ? error.message : String(error)}`)
  await shutdown(1)
}
