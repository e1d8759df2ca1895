/**
 * The local stack's options, from the environment (`npm start` and the stack's CLI), parsed as
 * the app parses its own (runtime/config.ts): one error naming each bad variable.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { ConfigError, parseEnvironment } from '../../runtime/config.ts'
import { cacheDir } from './fetch.ts'

export const port = (fallback: number) =>
  z.coerce.number().int().min(1).max(65535).default(fallback)

/** Kafka's controller listens on KAFKA_PORT + 1, Elasticsearch's transport on ELASTICSEARCH_PORT + 100. */
export const StackEnvironment = z.object({
  KAFKA_PORT: port(19092),
  ELASTICSEARCH_PORT: port(19200),
  /** 3 starts three KRaft nodes as the chart runs them, on KAFKA_PORT, + 3 and + 6. */
  KAFKA_NODES: z
    .enum(['1', '3'])
    .default('1')
    .transform((nodes) => (nodes === '3' ? 3 : 1)),
  /** The stack's data, logs and pid files. */
  LOCAL_STACK_DIR: z.string().default(join(cacheDir(), 'local-stack')),
})

/** The options from the environment; a bad one is named on stderr and the script exits with 2. */
export function environmentOptions<Schema extends z.ZodType>(schema: Schema): z.output<Schema> {
  try {
    return parseEnvironment(schema)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(2)
  }
}
