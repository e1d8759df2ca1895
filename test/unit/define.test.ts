import { expect, test } from 'vitest'
import { z } from 'zod'
import { defaultRetry, defineSubscriber } from '../../handlers/define.ts'
import storePurchases from '../../handlers/subscribers/store-purchases.ts'

const subscriber = (retry?: { attempts?: number; maxDelayMs?: number }) =>
  defineSubscriber({
    topic: 'purchases',
    group: 'test-group',
    deadLetter: null,
    ...(retry && { retry }),
    schema: z.object({}),
    handle: async () => ({ rejected: [] }),
  })

test('defineSubscriber fills in the retry policy: 3 attempts, 250 ms to 30 s', () => {
  expect(defaultRetry).toEqual({ attempts: 3, initialDelayMs: 250, maxDelayMs: 30_000 })
  expect(subscriber().retry).toEqual(defaultRetry)
  expect(subscriber().deadLetter).toBeNull()
})

test('a subscriber overrides only the retry fields it names', () => {
  expect(subscriber({ attempts: 5 }).retry).toEqual({ ...defaultRetry, attempts: 5 })
  expect(subscriber({ maxDelayMs: 1_000 }).retry).toEqual({ ...defaultRetry, maxDelayMs: 1_000 })
})

test('store-purchases declares its topic, group and dead-letter topic', () => {
  expect(storePurchases).toMatchObject({
    topic: 'purchases',
    group: 'purchases-indexer',
    deadLetter: 'purchases.dead-letter',
    retry: defaultRetry,
  })
})
