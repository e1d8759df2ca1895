/**
 * A feature beside the product (the live page): a folder of its own declarations, loaded as a
 * root by runtime/load-handlers.ts, whose runtime part is one register function in
 * runtime/register.ts. The composition root calls it once, after the roles, with the parts this
 * process runs; it adds what it needs and registers each close where it opens something.
 */
import type { z } from 'zod'
import type { RouteDefinition, RouteRequest, SubscriberDefinition } from '../handlers/define.ts'
import type { Context } from './context.ts'
import { featureRoots, loadRoutes, loadSubscribers, moduleIn } from './load-handlers.ts'
import type { Api } from './roles/api.ts'
import type { Consumers } from './roles/consumer.ts'

export interface FeatureHost<P> {
  context: Context
  /** This process's API (ROLE=api or all). */
  api?: Api | undefined
  /** This process's consumers (ROLE=consumer or all). */
  consumers?: Consumers | undefined
  /** The feature's own routes and subscribers, from its folder. */
  routes: RouteDefinition<RouteRequest, P>[]
  // biome-ignore lint/suspicious/noExplicitAny: each subscriber names its own ports
  subscribers: SubscriberDefinition<z.ZodType, any>[]
}

export type Feature = (host: FeatureHost<never>) => Promise<void> | void

/** Declares a feature's register function; `P` is what its routes receive. */
export function defineFeature<P>(register: (host: FeatureHost<P>) => Promise<void> | void) {
  return register as Feature
}

/** Registers every feature root's runtime part, in the order the roots are listed. */
export async function registerFeatures(
  parts: Pick<FeatureHost<never>, 'context' | 'api' | 'consumers'>,
): Promise<void> {
  for (const root of featureRoots) {
    const module = moduleIn(root, 'runtime/register')
    if (!module) throw new Error(`${root}: no runtime/register.ts`)
    const { default: register } = (await import(module)) as { default: Feature }
    const [routes, subscribers] = await Promise.all([loadRoutes(root), loadSubscribers(root)])
    await register({ ...parts, routes, subscribers })
  }
}
