import { pino } from 'pino'
import { createHttpApp, mountRoutes, type ReadinessChecks } from '../../runtime/http/app.ts'
import { loadRoutes } from '../../runtime/load-handlers.ts'
import { type AppLogger, createLogger } from '../../runtime/logger.ts'
import { createMetrics } from '../../runtime/metrics.ts'
import { type MemoryPorts, memoryPorts } from './memory-ports.ts'

export const silentLogger = createLogger('silent', 'test')

/** A logger that keeps each line (warn and up) as an object, for tests of what is logged. */
export function recordingLogger(): { logger: AppLogger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { logger, lines }
}

/** The real HTTP runtime with the product's routes on in-memory ports: `app.request`, no server. */
export async function memoryApp<P extends MemoryPorts = MemoryPorts>(
  options: { ports?: P; readiness?: ReadinessChecks } = {},
) {
  const ports = options.ports ?? (memoryPorts() as P)
  const app = createHttpApp({
    readiness: options.readiness ?? {},
    metrics: createMetrics(),
    logger: silentLogger,
    maxBodyBytes: 16 * 1024,
    retryAfterSeconds: 2,
    version: 'test',
  })
  mountRoutes(app, await loadRoutes(), ports)
  return { app, ports }
}
