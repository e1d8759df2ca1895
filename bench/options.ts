/** `npm run bench -- --scenario api-batched --rounds 1`: the command line -> typed options (zod). */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { ConfigError, parseSettings } from '../runtime/config.ts'
import { cacheDir } from '../scripts/local-stack/fetch.ts'

const count = (fallback: number) => z.coerce.number().int().min(1).default(fallback)
const commaList = z.string().transform((value) => value.split(',').map((item) => item.trim()))

const Options = z
  .object({
    /** Scenario ids or stage names; every scenario when left out. */
    scenario: commaList.pipe(z.array(z.string().min(1)).min(1)).optional(),
    rounds: count(3),
    /** How long each timed measurement runs; each scenario's own length when left out. */
    seconds: z.coerce.number().int().min(1).optional(),
    /** Messages produced, drained and bulk-written per round. */
    messages: count(50_000),
    'freshness-rates': commaList
      .pipe(z.array(z.string().transform(Number).pipe(z.number().int().min(1))).min(1))
      .default([500, 1_000, 5_000]),
    'dataset-purchases': count(1_000_000),
    seed: count(42),
    /** Kafka on +92, Elasticsearch on +200, the app processes on +80 to +91. */
    'port-base': z.coerce.number().int().min(1024).max(65_000).default(39_000),
    /** The stack's data and logs; `<cache>/bench-stack-<port-base>` when left out. */
    'data-dir': z.string().min(1).optional(),
    /** CPU profiles of every app process, with a flame graph each. */
    profile: z.boolean().default(false),
  })
  .strict()

export type BenchOptions = Omit<z.output<typeof Options>, 'data-dir'> & { 'data-dir': string }

export const usage = `npm run bench -- [--scenario id,stage,...] [--rounds 3] [--seconds n] [--messages 50000]
  [--freshness-rates 500,1000,5000] [--dataset-purchases 1000000] [--seed 42]
  [--port-base 39000] [--data-dir dir] [--profile]     (bench/README.md explains each)`

/** Parses the command line; the error names every bad option and what it must be. */
export function parseBenchOptions(args: string[]): BenchOptions {
  const names = Object.keys(Options.shape) as (keyof typeof Options.shape)[]
  let values: Record<string, unknown>
  try {
    values = parseArgs({
      args,
      strict: true,
      options: Object.fromEntries(
        names.map((name) => [name, { type: name === 'profile' ? 'boolean' : 'string' }]),
      ) as Record<string, { type: 'string' | 'boolean' }>,
    }).values
  } catch (error) {
    throw new ConfigError(`Invalid bench options:\n  ${(error as Error).message}\n${usage}`)
  }
  const options = parseSettings(Options, values, {
    what: 'bench options',
    nameOf: (key) => `--${key}`,
  })
  return {
    ...options,
    'data-dir': options['data-dir'] ?? join(cacheDir(), `bench-stack-${options['port-base']}`),
  }
}
