/**
 * Loads the declarations. A root is a folder of them: routes/ and subscribers/ (one handler per
 * module, its default export) and topics.ts (its `topics`). The product's root is handlers/;
 * each feature beside it (the live page) is a root too, with its runtime part in
 * runtime/register.ts (runtime/feature.ts). The runtime finds them by these names, not by
 * import: removing a feature is removing its folder and its line in `featureRoots`.
 */
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { z } from 'zod'
import type { RouteDefinition, RouteRequest, SubscriberDefinition } from '../handlers/define.ts'
import type { TopicDeclaration } from '../handlers/topics.ts'
import { lazy } from './lazy.ts'

// Both the sources (run by tsx or Node's type stripping) and the built .js files (the image).
const repository = join(import.meta.dirname, '..')
const isModule = (file: string) => /\.(ts|js)$/.test(file) && !/\.d\.ts$/.test(file)

/** The product's declarations. */
export const productRoot = join(repository, 'handlers')
/** Each feature beside the product: one folder, one line here. */
export const featureRoots = [join(repository, 'live')]
const roots = [productRoot, ...featureRoots]

/** The module `name` (without extension) in `root`, as source or as built, if there is one. */
export function moduleIn(root: string, name: string): string | undefined {
  const path = ['.ts', '.js'].map((extension) => join(root, `${name}${extension}`)).find(existsSync)
  return path && pathToFileURL(path).href
}

async function loadDefaults<T>(
  root: string,
  folder: string,
  isValid: (value: unknown) => value is T,
): Promise<T[]> {
  const directory = join(root, folder)
  if (!existsSync(directory)) return []
  const files = (await readdir(directory)).filter(isModule).sort()
  return Promise.all(
    files.map(async (file) => {
      const { default: handler } = await import(pathToFileURL(join(directory, file)).href)
      if (!isValid(handler)) {
        throw new Error(
          `${folder}/${file}: the default export must come from define${folder === 'routes' ? 'Route' : 'Subscriber'}(...)`,
        )
      }
      return handler
    }),
  )
}

const has = (value: unknown, key: string) =>
  typeof value === 'object' && value !== null && key in value

/**
 * The routes of one root (the product's unless named). Their ports are the root's: the caller
 * that names a root knows which.
 */
// biome-ignore lint/suspicious/noExplicitAny: a root's ports type is known to its caller only
export const loadRoutes = <P = any>(root = productRoot) =>
  loadDefaults(
    root,
    'routes',
    (value): value is RouteDefinition<RouteRequest, P> =>
      has(value, 'handler') && has(value, 'path'),
  )

/**
 * The subscribers of one root (the product's unless named). One that reads or dead-letters to a
 * topic no topics.ts declares stops the start here.
 */
// biome-ignore lint/suspicious/noExplicitAny: a root's ports type is known to its caller only
export async function loadSubscribers<P = any>(root = productRoot) {
  const [topics, subscribers] = await Promise.all([
    allTopics(),
    loadDefaults(
      root,
      'subscribers',
      (value): value is SubscriberDefinition<z.ZodType, P> =>
        has(value, 'handle') && has(value, 'topic') && has(value, 'group'),
    ),
  ])
  for (const { topic, deadLetter, group } of subscribers) {
    for (const name of deadLetter ? [topic, deadLetter] : [topic]) {
      if (!(name in topics)) {
        throw new Error(`the subscriber in ${group} names ${name}, which no topics.ts declares`)
      }
    }
  }
  return subscribers
}

/**
 * Every declared topic, the product's and each feature's, by name. Read once: the subscriber
 * runner asks at each dead-letter write.
 */
export const allTopics = lazy(async (): Promise<Record<string, TopicDeclaration>> => {
  const declared: Record<string, TopicDeclaration> = {}
  for (const root of roots) {
    const module = moduleIn(root, 'topics')
    if (!module) continue
    const { topics } = (await import(module)) as { topics: Record<string, TopicDeclaration> }
    for (const [name, topic] of Object.entries(topics)) {
      if (name in declared) throw new Error(`${root}/topics: ${name} is declared twice`)
      declared[name] = topic
    }
  }
  return declared
})

/** Every subscriber, the product's and each feature's. */
export async function allSubscribers(): Promise<SubscriberDefinition<z.ZodType, unknown>[]> {
  return (await Promise.all(roots.map((root) => loadSubscribers(root)))).flat()
}
