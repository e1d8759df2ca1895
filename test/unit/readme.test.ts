import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { environmentVariables } from '../../runtime/config.ts'
import { memoryApp } from '../support/runtime.ts'

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')

test('the README documents every configuration variable', () => {
  const missing = environmentVariables.filter((name) => !readme.includes(`\`${name}\``))
  expect(missing).toEqual([])
})

test('the README lists every route of the OpenAPI document', async () => {
  const { app } = await memoryApp()
  const spec = (await (await app.request('/openapi.json')).json()) as {
    paths: Record<string, Record<string, unknown>>
  }
  const routes = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  )
  const missing = routes.filter((route) => !readme.includes(`\`${route}`))
  expect(missing).toEqual([])
})
