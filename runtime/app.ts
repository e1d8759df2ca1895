/** A running process: the shared context, then its role's parts, then the features, then HTTP. */
import type { Config } from './config.ts'
import { type Context, createContext } from './context.ts'
import { type FeatureHost, registerFeatures } from './feature.ts'
import type { AppLogger } from './logger.ts'

/** What a role assembles on the context: its API, its consumers, or both. */
export type Role = (context: Context) => Promise<Pick<FeatureHost<never>, 'api' | 'consumers'>>

export interface RunningApp {
  /** The port the HTTP server listens on (useful with PORT=0). */
  port: number
  /** Closes what was opened, last opened first. */
  stop(): Promise<void>
}

/** Starts `role` and the features; resolves once the HTTP server listens. */
export async function startApp(config: Config, logger: AppLogger, role: Role): Promise<RunningApp> {
  const context = createContext(config, logger)
  try {
    await registerFeatures({ context, ...(await role(context)) })
    return { port: await context.listen(), stop: () => context.close() }
  } catch (error) {
    await context.close().catch(() => {})
    throw error
  }
}
