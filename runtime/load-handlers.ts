/** Loads the handlers: every module in handlers/routes and handlers/subscribers is one of them. */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { RouteDefinition, SubscriberDefinition } from '../handlers/define.ts'

// Both the sources (run by tsx or Node's type stripping) and the built .js files (the image).
const handlerRoot = join(import.meta.dirname, '..', 'handlers')
const isModule = (file: string) => /\.(ts|js)$/.test(file) && !/\.d\.ts$/.test(file)

async function loadDefaults<T>(
  folder: string,
  isValid: (value: unknown) => value is T,
): Promise<T[]> {
  const directory = join(handlerRoot, folder)
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

export const loadRoutes = () =>
  loadDefaults(
    'routes',
    (value): value is RouteDefinition => has(value, 'handler') && has(value, 'path'),
  )

export const loadSubscribers = () =>
  loadDefaults(
    'subscribers',
    (value): value is SubscriberDefinition =>
      has(value, 'handle') && has(value, 'topic') && has(value, 'group'),
  )
