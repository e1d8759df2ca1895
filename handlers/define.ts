/**
 * The contract between pure handlers and the runtime: `defineRoute` / `defineSubscriber` and the
 * ports a handler receives. Nothing here imports Kafka, Elasticsearch or HTTP code, so a handler
 * is tested by calling it with in-memory ports.
 */
import type { z } from 'zod'
import type { Purchase, PurchaseDocument, ShopSummary } from './purchase.ts'

/** The subset of pino's logger that handlers use. */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface Clock {
  now(): Date
}

/** Logical topic names; the runtime maps them to the configured Kafka topics. */
export type TopicName = 'purchases'

export interface OutgoingEvent {
  /** Events with the same key keep their order (they land in one partition). */
  key: string
  value: unknown
}

/** Resolves once the event is durably written (acknowledged by all in-sync replicas). */
export type Publish = (topic: TopicName, event: OutgoingEvent) => Promise<void>

/** Sort position of a purchase in a shop's day: the `after` of the next page. */
export interface PurchasePosition {
  timestamp: string
  purchaseId: string
}

export interface PurchaseQuery {
  shopId: string
  /** Inclusive lower bound, RFC 3339. */
  from: string
  /** Exclusive upper bound, RFC 3339. */
  to: string
  after?: PurchasePosition
  limit: number
}

export interface SummaryQuery {
  shopId: string
  from: string
  to: string
  timeZone: string
}

export interface SaveResult {
  /** Documents the store refused for good (e.g. a mapping error): they go to the dead letters. */
  rejected: { index: number; reason: string }[]
}

export interface PurchaseStore {
  /** Idempotent by purchase id; throws `UnavailableError` when the store cannot be reached. */
  savePurchases(documents: PurchaseDocument[]): Promise<SaveResult>
  findPurchases(query: PurchaseQuery): Promise<Purchase[]>
  summarize(query: SummaryQuery): Promise<ShopSummary>
}

export interface Ports {
  publish: Publish
  store: PurchaseStore
  clock: Clock
  logger: Logger
}

/** An error a route handler throws to answer with a given status (rendered as problem+json). */
export class HttpError extends Error {
  readonly status: number
  readonly detail: string | undefined
  constructor(status: number, title: string, detail?: string) {
    super(title)
    this.status = status
    this.detail = detail
  }
}

/**
 * A dependency (broker, store) is unreachable. Routes answer 503 with Retry-After; subscribers
 * back off and retry the same batch without committing, so nothing is lost.
 */
export class UnavailableError extends Error {
  readonly dependency: string
  constructor(dependency: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.dependency = dependency
  }
}

type Parsed<T> = T extends z.ZodType ? z.output<T> : Record<string, never>

export interface RouteRequest {
  params?: z.ZodObject
  query?: z.ZodObject
  body?: z.ZodType
}

export interface RouteInput<R extends RouteRequest> {
  params: Parsed<R['params']>
  query: Parsed<R['query']>
  body: Parsed<R['body']>
}

export interface RouteResult {
  status: number
  body: unknown
  headers?: Record<string, string>
}

export interface RouteDefinition<R extends RouteRequest = RouteRequest> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete'
  /** OpenAPI path syntax: `/purchases/{shop_id}`. */
  path: string
  summary: string
  description?: string
  tags?: string[]
  request: R
  responses: Record<number, { description: string; schema?: z.ZodType }>
  handler(input: RouteInput<R>, ports: Ports): Promise<RouteResult>
}

/**
 * Declares an HTTP route: its schemas (validated by the runtime, published as OpenAPI) and a
 * handler that receives the parsed input and the ports.
 *
 * @example
 * export default defineRoute({
 *   method: 'get', path: '/ping', summary: 'Ping', request: {},
 *   responses: { 200: { description: 'pong' } },
 *   handler: async () => ({ status: 200, body: { pong: true } }),
 * })
 */
export function defineRoute<R extends RouteRequest>(route: RouteDefinition<R>): RouteDefinition<R> {
  return route
}

export interface SubscriberDefinition<S extends z.ZodType = z.ZodType> {
  /** Logical topic the subscriber reads. */
  topic: TopicName
  /** Each message value is parsed as JSON and validated; failures go to the dead letters. */
  schema: S
  /** Attempts for a batch that throws an unexpected error before its records are dead-lettered one by one. */
  maxAttempts: number
  /**
   * Handles one batch of valid events (in partition order). Returns the indexes it rejected for
   * good; throws `UnavailableError` to have the runtime back off and retry the whole batch.
   */
  handle(events: z.output<S>[], ports: Ports): Promise<SaveResult>
}

/** Declares a topic subscriber: the topic, the event schema and a batch handler. */
export function defineSubscriber<S extends z.ZodType>(
  subscriber: SubscriberDefinition<S>,
): SubscriberDefinition<S> {
  return subscriber
}
