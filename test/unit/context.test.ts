import { expect, test } from 'vitest'
import { loadConfig } from '../../runtime/config.ts'
import { createContext } from '../../runtime/context.ts'
import { silentLogger } from '../support/runtime.ts'

const config = loadConfig({ KAFKA_BROKERS: '127.0.0.1:1', ELASTICSEARCH_URL: 'http://127.0.0.1:1' })

test('closes in reverse order of opening, after telling what waits to stop; a failed close stops none of the rest', async () => {
  const context = createContext(config, silentLogger)
  const closed: string[] = []
  context.onClose('first', () => {
    closed.push(`first (stopping: ${context.stopping.aborted})`)
  })
  context.onClose('second', () => {
    throw new Error('second failed')
  })
  context.onClose('third', async () => {
    closed.push('third')
  })
  await expect(context.close()).rejects.toThrow('closing failed')
  expect(closed).toEqual(['third', 'first (stopping: true)'])
  // Closing again closes nothing again.
  await expect(context.close()).rejects.toThrow('closing failed')
  expect(closed).toHaveLength(2)
})

test('readiness checks of one name from two roles: both must pass, required if either is', async () => {
  const context = createContext(config, silentLogger)
  context.ready('elasticsearch', async () => {}, { required: false })
  context.ready(
    'elasticsearch',
    async () => {
      throw new Error('refused')
    },
    { required: true },
  )
  const response = await context.http.request('/readyz')
  expect(response.status).toBe(503)
  expect(await response.json()).toMatchObject({ checks: { elasticsearch: 'refused' } })
  await context.close()
})
