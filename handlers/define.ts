/**
 * How handlers are declared: `defineRoute` and `defineSubscriber` (topics: `defineTopics` in topics.ts).
 * Each returns its input (with defaults filled in) typed, so the runtime can load it and a test
 * can call a handler directly with in-memory ports. A handler receives the product's `Ports`
 * unless its second parameter names others (a feature beside the product, such as live/, has
 * its own).
 */
import type { z } from 'zod'
import type { Ports, SaveResult } from './ports.ts'

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

export interface RouteDefinition<R extends RouteRequest = RouteRequest, P = Ports> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete'
  /** OpenAPI path syntax: `/purchases/{shop_id}`. */
  path: string
  summary: string
  description?: string
  tags?: string[]
  /**
   * Who may call it: anyone (the default), or with `token` only requests that carry the control
   * token the runtime was given (DEMO_CONTROL_TOKEN); without one, such a route is not served.
   */
  access?: 'public' | 'token'
  request: R
  responses: Record<number, { description: string; schema?: z.ZodType }>
  handler(input: RouteInput<R>, ports: P): Promise<RouteResult>
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
export function defineRoute<R extends RouteRequest, P = Ports>(
  route: RouteDefinition<R, P>,
): RouteDefinition<R, P> {
  return route
}

/** How often, and how far apart, the runtime tries a batch the handler failed on. */
export interface RetryPolicy {
  /** Tries of a batch that fails unexpectedly, the first included, before it is split up. */
  attempts: number
  /** Waits grow from this, doubling per try, each a random part of it (full jitter). */
  initialDelayMs: number
  maxDelayMs: number
}

export const defaultRetry: RetryPolicy = { attempts: 3, initialDelayMs: 250, maxDelayMs: 30_000 }

/**
 * Who is handed each message: `group` (the default), one member of the subscriber's consumer
 * group, which commits what it handled; `every-process`, each process that runs the subscriber
 * (a group of its own per process, committing nothing), and only the messages sent since it
 * started: a broadcast of orders to every replica, which ignore what was sent before them.
 */
export type Delivery = 'group' | 'every-process'

export interface SubscriberDefinition<S extends z.ZodType = z.ZodType, P = Ports> {
  /** The topic it reads, declared in a topics.ts (the runtime refuses to start otherwise). */
  topic: string
  /** Its consumer group: each subscriber reads every message of its topic once. */
  group: string
  delivery: Delivery
  /** Where the messages it can never handle go (a declared topic), or null to log and skip them. */
  deadLetter: string | null
  retry: RetryPolicy
  /** Each message value is parsed as JSON and validated; failures are dead letters at once. */
  schema: S
  /**
   * Handles one batch of valid events (in partition order). Returns the positions it rejected
   * for good; throws `UnavailableError` to have the runtime wait and retry the whole batch, for
   * as long as it takes. Any other error is retried `retry.attempts` times, then the batch is
   * handled one event at a time so only the bad ones become dead letters.
   */
  handle(events: z.output<S>[], ports: P): Promise<SaveResult>
}

/**
 * Declares a topic subscriber as data (topic, group, dead letters, retries) beside its batch
 * handler; the runtime owns the policy the data describes. Retries default to
 * {@link defaultRetry}, delivery to `group`.
 *
 * @example
 * export default defineSubscriber({
 *   topic: 'purchases', group: 'purchases-indexer', deadLetter: 'purchases.dead-letter',
 *   schema: PurchaseEvent,
 *   handle: async (events, { store }) => store.savePurchases(events.map(toPurchase)),
 * })
 */
export function defineSubscriber<S extends z.ZodType, P = Ports>(
  subscriber: Omit<SubscriberDefinition<S, P>, 'retry' | 'delivery'> & {
    retry?: Partial<RetryPolicy>
    delivery?: Delivery
  },
): SubscriberDefinition<S, P> {
  return {
    delivery: 'group',
    ...subscriber,
    retry: { ...defaultRetry, ...subscriber.retry },
  }
}
