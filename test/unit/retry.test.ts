import { expect, test, vi } from 'vitest'
import { backoffDelay, retry } from '../../runtime/retry.ts'

const policy = { attempts: 4, initialDelayMs: 1, maxDelayMs: 4 }

test('full jitter: each wait is a random part of a doubling bound, capped', () => {
  const random = vi.spyOn(Math, 'random').mockReturnValue(0.999)
  const wide = { attempts: 10, initialDelayMs: 100, maxDelayMs: 1_000 }
  expect([1, 2, 3, 4, 5].map((attempt) => Math.round(backoffDelay(wide, attempt)))).toEqual([
    100, 200, 400, 799, 999,
  ])
  random.mockReturnValue(0)
  expect(backoffDelay(wide, 5)).toBe(0)
  random.mockRestore()
})

test('retries up to the attempts, reporting each retry, then throws the last error', async () => {
  const retries: number[] = []
  let calls = 0
  const failing = retry(
    async () => {
      calls++
      throw new Error(`failure ${calls}`)
    },
    {
      policy,
      signal: new AbortController().signal,
      onRetry: (_, attempt) => retries.push(attempt),
    },
  )
  await expect(failing).rejects.toThrow('failure 4')
  expect(retries).toEqual([1, 2, 3])
})

test('a failure not worth retrying is thrown at once', async () => {
  let calls = 0
  const failing = retry(
    async () => {
      calls++
      throw new TypeError('bad input')
    },
    {
      policy,
      signal: new AbortController().signal,
      retryIf: (error) => !(error instanceof TypeError),
      onRetry: () => {},
    },
  )
  await expect(failing).rejects.toThrow('bad input')
  expect(calls).toBe(1)
})

test('an abort ends the wait and throws its reason', async () => {
  const stop = new AbortController()
  const waiting = retry(
    async () => {
      throw new Error('down')
    },
    {
      policy: { attempts: Infinity, initialDelayMs: 3_600_000, maxDelayMs: 3_600_000 },
      signal: stop.signal,
      onRetry: () => stop.abort(new Error('stopping')),
    },
  )
  await expect(waiting).rejects.toThrow('stopping')
})
