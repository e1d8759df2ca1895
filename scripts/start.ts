/**
 * `npm start`: the whole pipeline on this machine. Starts a real Kafka and Elasticsearch (fetched
 * on first use), creates the topics, runs the API and the consumer as separate processes (as the
 * chart does), waits until both are ready and prints where everything is. Ctrl-C stops it all.
 * As the kubelet does, a process that exits, or whose /healthz fails the chart's liveness probe,
 * is started again after a growing back-off while the others keep running.
 *
 * Options, from the environment (parsed as the app's own, runtime/config.ts):
 * API_PORT (8080), CONSUMER_PORT (8081), KAFKA_PORT (19092), ELASTICSEARCH_PORT (19200);
 * Kafka's controller listens on KAFKA_PORT + 1, Elasticsearch's transport on ELASTICSEARCH_PORT + 100.
 * KAFKA_NODES=3 starts three KRaft nodes as the chart runs them (replication 3, min in-sync 2) on
 * KAFKA_PORT, + 3 and + 6 (controllers one above each), instead of one.
 * The stack's data: LOCAL_STACK_DIR (~/.cache/icecream/local-stack).
 * The restarts' back-off, the kubelet's by default: RESTART_BACK_OFF_MS (10 s, doubled on each
 * restart), RESTART_BACK_OFF_MAX_MS (5 min), RESTART_BACK_OFF_RESET_MS (10 min of running).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { prettyFactory } from 'pino-pretty'
import { z } from 'zod'
import { type AppProcess, type ProcessSpec, startHarness } from './local-stack/harness.ts'
import { kubeletBackOff, type Supervisor, supervise } from './local-stack/liveness.ts'
import { environmentOptions, port, StackEnvironment } from './local-stack/options.ts'
import { startWatchdog } from './local-stack/proc.ts'

const milliseconds = (fallback: number) => z.coerce.number().int().min(1).default(fallback)
const StartEnvironment = StackEnvironment.extend({
  API_PORT: port(8080),
  CONSUMER_PORT: port(8081),
  /** The live page's controls are on here, behind a token of this start's own (or yours). */
  DEMO_CONTROL_TOKEN: z
    .string()
    .min(32, 'must be at least 32 characters')
    .default(() => randomBytes(24).toString('base64url')),
  RESTART_BACK_OFF_MS: milliseconds(kubeletBackOff.initialMs),
  RESTART_BACK_OFF_MAX_MS: milliseconds(kubeletBackOff.maxMs),
  RESTART_BACK_OFF_RESET_MS: milliseconds(kubeletBackOff.resetAfterMs),
})
const options = environmentOptions(StartEnvironment)
const ports = {
  api: options.API_PORT,
  consumer: options.CONSUMER_PORT,
  kafka: options.KAFKA_PORT,
  elasticsearch: options.ELASTICSEARCH_PORT,
}
const controlToken = options.DEMO_CONTROL_TOKEN
const started = Date.now()
const dataDir = options.LOCAL_STACK_DIR
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
let supervisor: Supervisor | undefined
const harness = startHarness({
  dataDir,
  ports,
  kafkaNodes: options.KAFKA_NODES,
  env: { DEMO_CONTROLS: 'true', DEMO_CONTROL_TOKEN: controlToken },
  processes: specs,
  log: say,
  // Once all are ready the supervisor restarts one that exits; until then its exit ends the start.
  onExit: (name, how) => {
    if (supervisor) return supervisor.exited(name, how)
    say(`the ${name} process exited (${how}) while the others started; stopping everything`)
    void shutdown(1)
  },
})

let stopping: Promise<never> | undefined
function shutdown(code: number): Promise<never> {
  stopping ??= Promise.all([supervisor?.stop(), harness.stop()]).then(() => {
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
  // Restarted when it exits or its /healthz fails the chart's liveness probe, as by the kubelet.
  supervisor = supervise({
    processes: new Map(specs.map((spec, i) => [spec.name, processes[i] as AppProcess])),
    start: (name) => harness.start(specs.find((spec) => spec.name === name) as ProcessSpec),
    log: say,
    backOff: {
      initialMs: options.RESTART_BACK_OFF_MS,
      maxMs: options.RESTART_BACK_OFF_MAX_MS,
      resetAfterMs: options.RESTART_BACK_OFF_RESET_MS,
    },
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
