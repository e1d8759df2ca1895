import { createHttpApp, type ReadinessChecks } from '../../runtime/http/app.ts'
import { loadRoutes } from '../../runtime/load-handlers.ts'
import { createLogger } from '../../runtime/logger.ts'
import { createMetrics } from '../../runtime/metrics.ts'
import { type MemoryPorts, memoryPorts } from './memory-ports.ts'

export const silentLogger = createLogger('silent', 'test')

/** The real HTTP runtime on in-memory ports: requests go through `app.request`, no server. */
export async function memoryApp(
  options: {
    ports?: MemoryPorts
    readiness?: ReadinessChecks
    livePage?: boolean
    controlToken?: string
  } = {},
) {
  const ports = options.ports ?? memoryPorts()
  const app = createHttpApp({
    routes: await loadRoutes(),
    ports,
    readiness: options.readiness ?? {},
    metrics: createMetrics(),
    logger: silentLogger,
    maxBodyBytes: 16 * 1024,
    livePage: options.livePage ?? true,
    ...(options.controlToken && { controlToken: options.controlToken }),
    retryAfterSeconds: 2,
    version: 'test',
  })
  return { app, ports }
}
