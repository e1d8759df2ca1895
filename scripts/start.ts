/**
 * `npm start`: the whole pipeline on this machine. Starts a real Kafka and Elasticsearch (fetched
 * on first use), creates the topics, runs the API and the consumer as separate processes (as the
 * chart does), waits until both are ready and prints where everything is. Ctrl-C stops it all.
 * A process whose /healthz fails the chart's liveness probe is restarted, as the kubelet does.
 *
 * Ports: API_PORT (8080), CONSUMER_PORT (8081), KAFKA_PORT (19092), ELASTICSEARCH_PORT (19200);
 * Kafka's controller listens on KAFKA_PORT + 1, Elasticsearch's transport on ELASTICSEARCH_PORT + 100.
 * KAFKA_NODES=3 starts three KRaft nodes as the chart runs them (replication 3, min in-sync 2) on
 * KAFKA_PORT, + 3 and + 6 (controllers one above each), instead of one.
 * The stack's data: LOCAL_STACK_DIR (~/.cache/icecream/local-stack).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { prettyFactory } from 'pino-pretty'
import { cacheDir } from './local-stack/fetch.ts'
import { type ProcessSpec, startHarness } from './local-stack/harness.ts'
import { keepAlive } from './local-stack/liveness.ts'
import { startWatchdog } from './local-stack/proc.ts'

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
const kafkaNodes = process.env.KAFKA_NODES || '1'
if (kafkaNodes !== '1' && kafkaNodes !== '3') {
  process.stderr.write(`KAFKA_NODES must be 1 or 3, got ${kafkaNodes}\n`)
  process.exit(2)
}
// The live page's controls are on here, behind a token of this start's own (or yours).
const controlToken = process.env.DEMO_CONTROL_TOKEN || randomBytes(24).toString('base64url')
const started = Date.now()
const dataDir = process.env.LOCAL_STACK_DIR || join(cacheDir(), 'local-stack')
// First: from here on, whatever ends this process, nothing it started outlives it.
startWatchdog(join(dataDir, 'logs', 'watchdog.log'))

// Output stops at the first failed write: `npm start | tee log` and Ctrl-C kills tee, and the
// EPIPE that follows must not kill this process before it has stopped what it started.
let outputGone = false
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', () => {
    outputGone = true
    void shutdown(1)
  })
}
const write = (stream: NodeJS.WriteStream, text: string) => {
  if (!outputGone) stream.write(text)
}
const say = (line: string) => write(process.stderr, `==> ${line}\n`)
// Pretty logs for a person at a terminal, JSON lines otherwise.
const pretty = process.stdout.isTTY ? prettyFactory({ colorize: true }) : undefined
const output = (line: string) => write(process.stdout, pretty ? pretty(line) : `${line}\n`)

const specs: (ProcessSpec & { name: string })[] = [
  { role: 'api', name: 'API', port: ports.api, output },
  { role: 'consumer', name: 'consumer', port: ports.consumer, output },
]
const harness = startHarness({
  dataDir,
  ports,
  kafkaNodes: kafkaNodes === '3' ? 3 : 1,
  env: { DEMO_CONTROLS: 'true', DEMO_CONTROL_TOKEN: controlToken },
  processes: specs,
  log: say,
  onExit: (name, code) => {
    say(`the ${name} process exited (${code}); stopping everything`)
    void shutdown(1)
  },
})

let stopping: Promise<never> | undefined
let liveness: { stop(): Promise<void> } | undefined
function shutdown(code: number): Promise<never> {
  stopping ??= Promise.all([liveness?.stop(), harness.stop()]).then(() => {
    say('stopped')
    process.exit(code)
  })
  return stopping
}
// Ctrl-C, a closed terminal, kill: stop in order. A second one stops at once; the watchdog then
// stops what is left.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (!stopping) {
      say(`${signal}: stopping everything (again to stop at once)`)
      void shutdown(0)
      return
    }
    say(`${signal} again: stopping at once`)
    process.exit(1)
  })
}

try {
  const { stack, processes } = await harness.ready
  // Restarted when its /healthz fails, as the chart's liveness probe has the kubelet do.
  const running = new Map(specs.map((spec, i) => [spec.name, processes[i]]))
  liveness = keepAlive({
    watched: () => [...running].map(([name, app]) => [name, app?.url] as const),
    replace: async (name) => {
      const spec = specs.find((s) => s.name === name)
      if (!spec) return
      await running.get(name)?.stop()
      running.set(name, undefined)
      running.set(name, await harness.start(spec))
    },
    log: say,
  })
  const api = `http://127.0.0.1:${ports.api}`
  write(
    process.stderr,
    `
Ready in ${((Date.now() - started) / 1000).toFixed(0)} s: Kafka ${stack.versions.kafka}, Elasticsearch ${stack.versions.elasticsearch}.
  Live page      ${api}/#token=${controlToken}
                 (the controls' token, kept by the page for this tab: ${controlToken})
                 what it shows and what to try: docs/live-page.md
  API            ${api}
  API docs       ${api}/docs   (OpenAPI: ${api}/openapi.json)
  API metrics    ${api}/metrics
  Consumer       http://127.0.0.1:${ports.consumer}/metrics  (health: /readyz)
  Kafka          ${stack.kafka.brokers.join(',')}  (SASL SCRAM-SHA-512; credentials in ${join(dataDir, 'credentials.json')})
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
`,
  )
} catch (error) {
  // After Ctrl-C the start fails on purpose: no need to say so.
  if (!stopping) say(`start failed: ${error instanceof Error ? error.message : String(error)}`)
  await shutdown(1)
}
