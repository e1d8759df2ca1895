/**
 * What every role shares, built once at the start: the configuration, the logger, the metrics,
 * the Kafka client, its admin and the publisher, the process's one HTTP app, and a close stack.
 * Whatever is opened registers its close right where it is opened; `close()` runs them in
 * reverse order, so what opened last stops first: the HTTP server, then the consumers (each
 * finishes its chunk in hand), then the publisher (flushing what waits), then the clients.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { Config } from './config.ts'
import { createHttpApp, type ReadinessChecks } from './http/app.ts'
import { serveHttp } from './http/server.ts'
import type { Admin, KafkaClient } from './kafka/client.ts'
import { createKafkaClient } from './kafka/index.ts'
import { createPublisher, type Publisher } from './kafka/publisher.ts'
import { lazy } from './lazy.ts'
import type { AppLogger } from './logger.ts'
import { createMetrics, type Metrics, type PartitionLagReading } from './metrics.ts'

/** Seconds a client should wait after a 503. */
const retryAfterSeconds = 2

type Answered = { method: string; route: string; status: number; seconds: number }

export interface Context {
  config: Config
  logger: AppLogger
  metrics: Metrics
  kafka: KafkaClient
  /** Connected on first use, shared. */
  admin: () => Promise<Admin>
  /** Gathers concurrent events into one produce; connected on first use. */
  publisher: Publisher
  /** The process's one HTTP app: the API's routes, or a consumer's health and metrics, or both. */
  http: OpenAPIHono
  /** Aborted when the process starts to stop: what waits or retries gives up. */
  stopping: AbortSignal
  /** Registers a close; closes run last-registered first. */
  onClose(what: string, close: () => unknown): void
  /** Adds a readiness check; one added under a name already there must pass too (and is required if either is). */
  ready(name: string, check: () => Promise<void>, options: { required: boolean }): void
  /** Adds a liveness check: why the process is beyond repair, or undefined. */
  alive(check: () => string | undefined): void
  /** Adds a reader of consumer lag (kafka_consumer_lag), read at each scrape. */
  readLag(reader: () => Promise<PartitionLagReading[]>): void
  /** Tells `listener` of every answered request. */
  onAnswered(listener: (request: Answered) => void): void
  /** Serves the HTTP app; resolves with its port once it listens. */
  listen(): Promise<number>
  /** Runs the closes in reverse order; rejects after all ran if any failed. */
  close(): Promise<void>
}

function packageVersion(): string {
  for (const up of ['..', '../..']) {
    try {
      return JSON.parse(readFileSync(join(import.meta.dirname, up, 'package.json'), 'utf8')).version
    } catch {}
  }
  return 'unknown'
}

export function createContext(config: Config, logger: AppLogger): Context {
  const stopping = new AbortController()
  const closes: { what: string; close: () => unknown }[] = []
  const onClose = (what: string, close: () => unknown) => closes.push({ what, close })
  let closed: Promise<void> | undefined

  const lagReaders: (() => Promise<PartitionLagReading[]>)[] = []
  const metrics = createMetrics({
    lag: async () => (await Promise.all(lagReaders.map((read) => read()))).flat(),
  })
  const kafka = createKafkaClient(config, logger)
  const connectAdmin = lazy(() => kafka.admin())
  let adminAsked = false
  const admin = () => {
    adminAsked = true
    return connectAdmin()
  }
  onClose('the Kafka admin', async () => {
    if (adminAsked) await (await connectAdmin().catch(() => undefined))?.disconnect()
  })
  const publisher = createPublisher(
    () => kafka.producer({ sendTimeoutMs: config.PUBLISH_TIMEOUT_MS }),
    {
      namePrefix: config.KAFKA_NAME_PREFIX,
      lingerMs: config.PUBLISH_LINGER_MS,
      maxBatch: config.PUBLISH_MAX_BATCH,
      timeoutMs: config.PUBLISH_TIMEOUT_MS,
      retryAfterSeconds,
      maxPending: config.PUBLISH_MAX_PENDING,
    },
    metrics,
    logger,
  )
  onClose('the publisher (sending what waits)', () => publisher.close())

  const readiness: ReadinessChecks = {}
  const liveness: (() => string | undefined)[] = []
  const answered: ((request: Answered) => void)[] = []
  const http = createHttpApp({
    readiness,
    liveness: () => liveness.map((check) => check()).find(Boolean),
    metrics,
    logger,
    maxBodyBytes: config.MAX_BODY_BYTES,
    onAnswered: (request) => {
      for (const listener of answered) listener(request)
    },
    retryAfterSeconds,
    version: packageVersion(),
  })

  return {
    config,
    logger,
    metrics,
    kafka,
    admin,
    publisher,
    http,
    stopping: stopping.signal,
    onClose,
    ready(name, check, { required }) {
      const before = readiness[name]
      readiness[name] = before
        ? {
            required: before.required || required,
            check: async () => {
              await Promise.all([before.check(), check()])
            },
          }
        : { required, check }
    },
    alive: (check) => liveness.push(check),
    readLag: (reader) => lagReaders.push(reader),
    onAnswered: (listener) => answered.push(listener),
    async listen() {
      const { server, port } = await serveHttp(http, config, logger)
      onClose('the HTTP server', async () => {
        // Under load, kept-alive connections are never idle all at once, and close() waits for
        // them: each now answers its request in hand with `Connection: close`, then ends.
        server.on('request', (_request, response) => response.setHeader('connection', 'close'))
        const serverClosed = new Promise<void>((done) => server.close(() => done()))
        server.closeIdleConnections()
        await serverClosed
      })
      logger.info({ port }, 'listening')
      return port
    },
    close() {
      stopping.abort()
      closed ??= (async () => {
        const failed: unknown[] = []
        for (const { what, close } of closes.toReversed()) {
          try {
            await close()
          } catch (error) {
            logger.error({ err: error }, `closing ${what} failed`)
            failed.push(error)
          }
        }
        if (failed.length > 0) throw new AggregateError(failed, 'closing failed')
      })()
      return closed
    },
  }
}
