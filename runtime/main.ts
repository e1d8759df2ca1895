/**
 * One entry for every role: `ROLE=api` serves HTTP, `ROLE=consumer` runs the subscribers (and
 * serves health and metrics), `ROLE=all` does both in one process (with a user allowed both),
 * `ROLE=setup` puts the store's index template and index, then exits.
 */
import { type Role, startApp } from './app.ts'
import { type Config, ConfigError, loadConfig } from './config.ts'
import { createLogger } from './logger.ts'
import { startApi } from './roles/api.ts'
import { startConsumer } from './roles/consumer.ts'
import { setUpStore } from './roles/setup.ts'

const shutdownTimeoutMs = 25_000

export const roles: Record<Exclude<Config['ROLE'], 'setup'>, Role> = {
  api: async (context) => ({ api: await startApi(context) }),
  consumer: async (context) => ({ consumers: await startConsumer(context) }),
  all: async (context) => ({
    api: await startApi(context),
    consumers: await startConsumer(context),
  }),
}

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(2)
  }
  const logger = createLogger(config.LOG_LEVEL, config.ROLE)
  if (config.ROLE === 'setup') {
    await setUpStore(config, logger)
    process.exit(0)
  }
  const app = await startApp(config, logger, roles[config.ROLE])
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    setTimeout(() => {
      logger.error('shutdown timed out')
      process.exit(1)
    }, shutdownTimeoutMs).unref()
    app.stop().then(
      () => {
        logger.info('stopped')
        process.exit(0)
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

if (import.meta.main) await main()
