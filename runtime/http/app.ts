/**
 * The HTTP runtime: the operational endpoints (health, readiness, metrics, docs) and
 * problem+json errors, and `mountRoutes`, which turns route definitions into Hono routes with
 * zod validation and OpenAPI.
 */
import { createRoute, OpenAPIHono, type RouteConfig } from '@hono/zod-openapi'
import type { Context, MiddlewareHandler } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import pTimeout from 'p-timeout'
import type { z } from 'zod'
import type { RouteDefinition, RouteInput, RouteRequest } from '../../handlers/define.ts'
import { HttpError, UnavailableError } from '../../handlers/errors.ts'
import type { AppLogger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { docsRoutes } from './docs.ts'
import { type FieldError, Problem, problem } from './problem.ts'
import { isJsonMediaType, readStrictJson } from './strict-json.ts'

/**
 * A dependency's check. `required: false` is reported but does not make the process unready: the
 * API keeps accepting purchases while Elasticsearch is down, so only Kafka decides its readiness.
 */
export type ReadinessChecks = Record<string, { check: () => Promise<void>; required: boolean }>

export interface HttpAppOptions {
  /** Read at each request: checks added later count too. */
  readiness: ReadinessChecks
  /** Why the process is beyond repair (liveness fails and Kubernetes restarts it), or undefined. */
  liveness?: () => string | undefined
  metrics: Metrics
  logger: AppLogger
  maxBodyBytes: number
  /** Told of every answered request (the live page's recent latency). */
  onAnswered?: (request: { method: string; route: string; status: number; seconds: number }) => void
  /** Seconds a client should wait after a 503. */
  retryAfterSeconds: number
  version: string
}

const validationTargets = { json: 'body', query: 'query', param: 'path' } as const

class ValidationProblem extends Error {
  readonly errors: FieldError[]
  constructor(errors: FieldError[]) {
    super('Validation failed')
    this.errors = errors
  }
}

/** What the runtime answers for any route, beside what the route declares. */
const runtimeResponses: RouteDefinition['responses'] = {
  408: {
    description:
      'The request was not received in time (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS).',
  },
  431: { description: 'The request headers are too large.' },
}
const bodyResponses: RouteDefinition['responses'] = {
  400: {
    description: 'The body is not JSON: malformed, not UTF-8, or a key repeated within an object.',
  },
  413: { description: 'The body is larger than MAX_BODY_BYTES.' },
  415: { description: 'The body is not sent as application/json.' },
}

/**
 * Checks `Authorization: Bearer <token>`; Hono's middleware compares digests of the two in
 * constant time. A refusal is a problem+json 401 with a WWW-Authenticate challenge.
 */
export function requireControlToken(token: string): MiddlewareHandler {
  const refuse = (detail: string) => ({
    message: (c: Context) => problem(c, 401, 'Control token required', { detail }),
  })
  return bearerAuth({
    token,
    noAuthenticationHeader: refuse('send DEMO_CONTROL_TOKEN as Authorization: Bearer <token>'),
    invalidAuthenticationHeader: refuse('the Authorization header is not Bearer <token>'),
    invalidToken: refuse('the token is not DEMO_CONTROL_TOKEN'),
  })
}

function toRouteConfig(
  route: RouteDefinition<RouteRequest, unknown>,
  middleware: MiddlewareHandler[],
): RouteConfig {
  const { params, query, body } = route.request
  const responses = {
    ...runtimeResponses,
    ...(body && bodyResponses),
    ...route.responses,
  }
  return createRoute({
    ...(middleware.length > 0 && { middleware }),
    method: route.method,
    path: route.path,
    summary: route.summary,
    description: route.description,
    tags: route.tags,
    request: {
      ...(params && { params }),
      ...(query && { query }),
      ...(body && {
        body: { required: true, content: { 'application/json': { schema: body } } },
      }),
    },
    responses: Object.fromEntries(
      Object.entries(responses).map(([status, response]) => [
        status,
        {
          description: response.description,
          content: response.schema
            ? { 'application/json': { schema: response.schema } }
            : Number(status) >= 400
              ? { 'application/problem+json': { schema: Problem } }
              : undefined,
        },
      ]),
    ),
  })
}

async function runChecks(checks: ReadinessChecks, timeoutMs: number) {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, { check }]) => {
      try {
        await pTimeout(check(), { milliseconds: timeoutMs, message: 'timed out' })
        return [name, 'ok'] as const
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const
      }
    }),
  )
  return Object.fromEntries(entries)
}

export function createHttpApp(options: HttpAppOptions): OpenAPIHono {
  const { metrics, logger } = options
  const app = new OpenAPIHono({
    // `/purchases/` is `/purchases`: clients and proxies add trailing slashes.
    strict: false,
    defaultHook: (result) => {
      if (result.success) return
      const location = validationTargets[result.target as keyof typeof validationTargets]
      const errors = (result.error as z.ZodError).issues.map((issue) => ({
        in: location ?? result.target,
        path: issue.path.join('.'),
        message: issue.message,
      }))
      // Thrown so that onError renders it like every other problem.
      throw new ValidationProblem(errors)
    },
  })

  app.use(async (c, next) => {
    const started = performance.now()
    await next()
    const seconds = (performance.now() - started) / 1000
    const route = c.req.routePath
    metrics.httpRequests.observe({ method: c.req.method, route, status: c.res.status }, seconds)
    options.onAnswered?.({ method: c.req.method, route, status: c.res.status, seconds })
    // A 503 is an expected answer while a dependency is away; other 5xx are bugs.
    const status = c.res.status
    const level =
      status === 503 ? 'warn' : status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug'
    logger[level](
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 1000),
      },
      'request',
    )
  })

  app.use(
    bodyLimit({
      maxSize: options.maxBodyBytes,
      onError: (c) =>
        problem(c, 413, 'Body too large', { detail: `at most ${options.maxBodyBytes} bytes` }),
    }),
  )
  app.use(async (c, next) => {
    if (!c.req.raw.body) return next()
    const contentType = c.req.header('content-type')
    if (!isJsonMediaType(contentType)) {
      // A body that does not say what it is would reach the schema as `{}` (a 422 per field).
      if (contentType === undefined && (await c.req.arrayBuffer()).byteLength > 0) {
        return problem(c, 415, 'Unsupported media type', { detail: 'send it as application/json' })
      }
      return next()
    }
    // Hono keeps the bytes read here for the validator, which decodes them to the same text.
    const read = readStrictJson(new Uint8Array(await c.req.arrayBuffer()))
    if ('problem' in read) return problem(c, 400, 'Malformed JSON', { detail: read.problem })
    return next()
  })

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Ice-cream purchases',
      version: options.version,
      description:
        'Shops post purchases; a Kafka topic buffers them; consumers store them in ' +
        'Elasticsearch. Errors are RFC 9457 problem+json.',
    },
  })
  app.route('/', docsRoutes('/openapi.json'))

  app.get('/healthz', (c) => {
    const broken = options.liveness?.()
    return broken ? c.json({ status: 'down', reason: broken }, 503) : c.json({ status: 'alive' })
  })
  app.get('/readyz', async (c) => {
    const checks = await runChecks(options.readiness, 2_000)
    const ready = Object.entries(options.readiness).every(
      ([name, { required }]) => !required || checks[name] === 'ok',
    )
    if (ready) return c.json({ status: 'ready', checks })
    return c.json({ status: 'not ready', checks }, 503, {
      'retry-after': String(options.retryAfterSeconds),
    })
  })
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  )

  // A path that exists, asked with a method it does not take: 405 naming those it does
  // (RFC 9110), read from the routes at the time of asking (the live page's come later).
  app.notFound((c) => {
    const allowed = allowedMethods(app.routes, c.req.path)
    if (allowed.length > 0) {
      return problem(c, 405, 'Method not allowed', {
        detail: `${c.req.path} takes ${allowed.join(', ')}`,
        headers: { allow: allowed.join(', ') },
      })
    }
    return problem(c, 404, 'Not found', { detail: `no route for ${c.req.method} ${c.req.path}` })
  })

  app.onError((error, c) => {
    if (error instanceof ValidationProblem) {
      return problem(c, 422, 'Validation failed', { errors: error.errors })
    }
    if (error instanceof HttpError) {
      return problem(c, error.status as ContentfulStatusCode, error.message, {
        ...(error.detail && { detail: error.detail }),
      })
    }
    if (error instanceof UnavailableError) {
      return problem(c, 503, 'Service unavailable', {
        detail: error.message,
        headers: { 'retry-after': String(options.retryAfterSeconds) },
      })
    }
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') {
      // The client went away, or the server cut a slow body (HTTP_REQUEST_TIMEOUT_MS, answered
      // 408 already): no one reads this answer.
      logger.info({ path: c.req.path, reason: error.message }, 'request aborted')
      return problem(c, 400, 'Request aborted')
    }
    if (error instanceof HTTPException) {
      // A middleware's own answer (the control token's 401).
      if (error.res) return error.getResponse()
      // Hono's own: malformed JSON, a wrong content type.
      return problem(c, error.status as ContentfulStatusCode, error.message || 'Bad request')
    }
    logger.error({ err: error, path: c.req.path }, 'unhandled error')
    return problem(c, 500, 'Internal error')
  })

  return app
}

/**
 * Serves `routes` on `app`, each handler given `ports`. Routes of `access: 'token'` are served
 * only with a `controlToken` (DEMO_CONTROL_TOKEN when DEMO_CONTROLS is on), to requests that
 * carry it as a bearer token; without one they are not served at all.
 */
export function mountRoutes<P>(
  app: OpenAPIHono,
  routes: RouteDefinition<RouteRequest, P>[],
  ports: P,
  options: { controlToken?: string | undefined } = {},
): void {
  const controlToken = options.controlToken && requireControlToken(options.controlToken)
  for (const route of routes) {
    const needsToken = route.access === 'token'
    if (needsToken && !controlToken) continue
    const middleware = needsToken && controlToken ? [controlToken] : []
    app.openapi(toRouteConfig(route, middleware), async (c: Context) => {
      // The route config declares each target, so the validator has parsed what is read here.
      const valid = (target: 'param' | 'query' | 'json'): unknown =>
        (c.req.valid as (t: string) => unknown)(target)
      const input = {
        params: route.request.params ? valid('param') : {},
        query: route.request.query ? valid('query') : {},
        body: route.request.body ? valid('json') : {},
      } as RouteInput<RouteRequest>
      const result = await route.handler(input, ports)
      return c.json(result.body, result.status as ContentfulStatusCode, result.headers)
    })
  }
}

const routePatterns = new Map<string, URLPattern>()

/** The methods routes take at `path`; HEAD wherever GET is, as Hono answers it. */
function allowedMethods(routes: { method: string; path: string }[], path: string): string[] {
  const methods = new Set<string>()
  for (const route of routes) {
    if (route.method === 'ALL') continue
    let pattern = routePatterns.get(route.path)
    if (!pattern) {
      pattern = new URLPattern({ pathname: route.path })
      routePatterns.set(route.path, pattern)
    }
    if (pattern.test({ pathname: path })) methods.add(route.method)
  }
  if (methods.has('GET')) methods.add('HEAD')
  return [...methods]
}
