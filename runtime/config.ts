/** Environment variables -> typed configuration, validated once at start. */
import { z } from 'zod'

const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port')).min(1))

const flag = z.enum(['true', 'false']).transform((value) => value === 'true')

const milliseconds = (fallback: number) => z.coerce.number().int().min(1).default(fallback)

const Environment = z
  .object({
    ROLE: z.enum(['api', 'consumer', 'all', 'setup']).default('all'),
    HOST: z.string().default('0.0.0.0'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    LOG_LEVEL: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
    MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(64 * 1024),
    /** A client must send its request headers within this, and the whole request within the next. */
    HTTP_HEADERS_TIMEOUT_MS: milliseconds(10_000),
    HTTP_REQUEST_TIMEOUT_MS: milliseconds(30_000),
    /** An idle keep-alive connection is closed after this (keep it above a proxy's idle timeout). */
    HTTP_KEEP_ALIVE_TIMEOUT_MS: milliseconds(5_000),
    /** Connections beyond this are dropped at once: bounded sockets and memory under a flood. */
    HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(1_000),

    /** The adapter behind the Kafka port (runtime/kafka/index.ts). */
    KAFKA_CLIENT: z.enum(['kafkajs', 'platformatic']).default('kafkajs'),
    KAFKA_BROKERS: list,
    KAFKA_CLIENT_ID: z.string().min(1).default('icecream'),
    KAFKA_SASL_MECHANISM: z.enum(['scram-sha-512', 'none']).default('none'),
    KAFKA_USERNAME: z.string().optional(),
    KAFKA_PASSWORD: z.string().optional(),
    KAFKA_SSL: flag.default(false),
    KAFKA_CA_FILE: z.string().optional(),
    /** Put before every topic and consumer-group name, so a test run or a bench gets its own. */
    KAFKA_NAME_PREFIX: z
      .string()
      .regex(/^[a-zA-Z0-9._-]*$/, "may hold only letters, digits, '.', '_' and '-'")
      .default(''),
    /** The longest a POST waits for Kafka's acknowledgement before answering 503. */
    PUBLISH_TIMEOUT_MS: milliseconds(5_000),
    /** How long the publisher gathers concurrent requests into one produce call. */
    PUBLISH_LINGER_MS: z.coerce.number().int().min(0).default(5),
    PUBLISH_MAX_BATCH: z.coerce.number().int().min(1).default(500),
    /** Events waiting for Kafka beyond this are refused with 503: backpressure, bounded memory. */
    PUBLISH_MAX_PENDING: z.coerce.number().int().min(1).default(10_000),
    /** Partitions whose batches are stored at the same time (order within each is kept). */
    CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(3),
    /** A consumer whose Kafka client gives up this many times in a row fails its liveness check. */
    CONSUMER_MAX_RESTARTS: z.coerce.number().int().min(0).default(5),
    /** The live page at `/` and its stream (API roles). */
    LIVE_PAGE: flag.default(true),
    /**
     * The live page's controls and the dead letters' contents (API roles), and a consumer's own
     * GET /consumer, POST /consumer/pause and /consumer/resume: all need DEMO_CONTROL_TOKEN.
     */
    DEMO_CONTROLS: flag.default(false),
    /** Sent as `Authorization: Bearer <token>` with every control request. */
    DEMO_CONTROL_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
    /** How often the canary posts a purchase to measure 202 -> searchable; 0 turns it off. */
    CANARY_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
    /** Bulk requests are cut at this many documents or bytes, whichever comes first. */
    BULK_MAX_DOCUMENTS: z.coerce.number().int().min(1).default(1_000),
    BULK_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(5 * 1024 * 1024),

    ELASTICSEARCH_URL: z.url(),
    ELASTICSEARCH_USERNAME: z.string().optional(),
    ELASTICSEARCH_PASSWORD: z.string().optional(),
    ELASTICSEARCH_CA_FILE: z.string().optional(),
    ELASTICSEARCH_INDEX: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a lowercase Elasticsearch index name')
      .default('purchases'),
  })
  .superRefine((env, ctx) => {
    // No limit of the server is shorter than a POST's own deadline: a client that sends slowly
    // but within it is not cut before Kafka could answer. (Node stops this timer once the
    // request has arrived; the publish deadline runs after.)
    if (env.HTTP_REQUEST_TIMEOUT_MS <= env.PUBLISH_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HTTP_REQUEST_TIMEOUT_MS'],
        message: `must be longer than PUBLISH_TIMEOUT_MS (${env.PUBLISH_TIMEOUT_MS})`,
      })
    }
    if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HTTP_HEADERS_TIMEOUT_MS'],
        message: `must be at most HTTP_REQUEST_TIMEOUT_MS (${env.HTTP_REQUEST_TIMEOUT_MS})`,
      })
    }
    if (env.KAFKA_SASL_MECHANISM !== 'none') {
      for (const name of ['KAFKA_USERNAME', 'KAFKA_PASSWORD'] as const) {
        if (!env[name]) {
          ctx.addIssue({ code: 'custom', path: [name], message: 'is required with SASL' })
        }
      }
    }
    if (env.DEMO_CONTROLS && !env.DEMO_CONTROL_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['DEMO_CONTROL_TOKEN'],
        message: 'is required with DEMO_CONTROLS=true',
      })
    }
    if (Boolean(env.ELASTICSEARCH_USERNAME) !== Boolean(env.ELASTICSEARCH_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: ['ELASTICSEARCH_PASSWORD'],
        message: 'ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD go together',
      })
    }
  })

export type Config = z.output<typeof Environment>

/** What a Kafka adapter needs to connect. */
export type KafkaSettings = Pick<
  Config,
  | 'KAFKA_CLIENT'
  | 'KAFKA_BROKERS'
  | 'KAFKA_CLIENT_ID'
  | 'KAFKA_SASL_MECHANISM'
  | 'KAFKA_USERNAME'
  | 'KAFKA_PASSWORD'
  | 'KAFKA_SSL'
  | 'KAFKA_CA_FILE'
>

/** Every variable the app reads (the README documents each). */
export const environmentVariables = Object.keys(Environment.shape)

export class ConfigError extends Error {}

/**
 * Parses `input` with `schema`; the error names every bad entry (a variable, a command-line
 * option) as `nameOf` spells it, and what it must be. The environment here, options elsewhere.
 */
export function parseSettings<Schema extends z.ZodType>(
  schema: Schema,
  input: Record<string, unknown>,
  { what, nameOf = (key) => key }: { what: string; nameOf?: (key: string) => string },
): z.output<Schema> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => {
    const key = issue.path[0]
    const message =
      issue.code === 'invalid_type' && input[String(key)] === undefined
        ? 'is required'
        : issue.message
    return `  ${key === undefined ? what : nameOf(String(key))}: ${message}`
  })
  throw new ConfigError(`Invalid ${what}:\n${problems.join('\n')}`)
}

/** Parses the environment; the error names every bad variable and what it must be. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return parseEnvironment(Environment, env)
}

/**
 * Environment variables -> `schema`'s output (the app's config, a script's options): an empty
 * variable counts as unset; the ConfigError names every bad variable and what it must be.
 */
export function parseEnvironment<Schema extends z.ZodType>(
  schema: Schema,
  env: Record<string, string | undefined> = process.env,
): z.output<Schema> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  return parseSettings(schema, present, { what: 'configuration' })
}
