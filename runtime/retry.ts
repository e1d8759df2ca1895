/**
 * The runtime's one retry loop. Waits grow exponentially with full jitter (each a random time
 * between 0 and min(maxDelayMs, initialDelayMs * 2^(attempt - 1))), so clients that failed
 * together do not come back together; an abort signal cuts a wait short.
 *
 * Why not a library: cockatiel's retry waits ignore its abort signal (a stopping consumer would
 * sit out a 30 s wait), and p-retry never retries a TypeError and does not wait between
 * failures that do not count against the attempts (a store outage would spin).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { RetryPolicy } from '../handlers/define.ts'

/** A start-up step waits for a dependency that may still be starting: it tries until stopped. */
export const untilStopped: RetryPolicy = {
  attempts: Infinity,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
}

export interface RetryOptions {
  /** `attempts: Infinity` retries until `signal` aborts. */
  policy: RetryPolicy
  signal: AbortSignal
  /** Which failures are worth another attempt; the others are thrown at once. */
  retryIf?: (error: unknown) => boolean
  /** Called before each wait: log the reason, count it in a metric. */
  onRetry(error: unknown, attempt: number, delayMs: number): void
}

/** The wait after failed attempt `attempt` (1-based). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.random() * Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1))
}

/**
 * Runs `work` until it succeeds, a failure is not worth retrying, the attempts are spent (the
 * last error is thrown) or `signal` aborts (its reason is thrown).
 *
 * @example
 * await retry(() => store.setup(), {
 *   policy: untilStopped,
 *   signal,
 *   onRetry: (error, attempt) => logger.warn({ err: error, attempt }, 'setup failed, retrying'),
 * })
 */
export async function retry<T>(
  work: (attempt: number) => Promise<T>,
  { policy, signal, retryIf = () => true, onRetry }: RetryOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted()
    try {
      return await work(attempt)
    } catch (error) {
      signal.throwIfAborted()
      if (attempt >= policy.attempts || !retryIf(error)) throw error
      const delayMs = backoffDelay(policy, attempt)
      onRetry(error, attempt, delayMs)
      // The wait rejects only when aborted; throw the abort's own reason, as everywhere else.
      await sleep(delayMs, undefined, { signal }).catch(() => signal.throwIfAborted())
    }
  }
}
