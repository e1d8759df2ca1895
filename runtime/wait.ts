/**
 * The one poll loop, for the runtime, the scripts, the bench and the tests' harnesses (inside a
 * vitest test, `vi.waitFor` and `expect.poll` do this job). Deadlines on a promise: `p-timeout`.
 */
import { setTimeout as sleep } from 'node:timers/promises'

export interface PollOptions {
  /** Ends the wait with the signal's reason (e.g. `AbortSignal.timeout(ms)`). */
  signal: AbortSignal
  intervalMs?: number
}

/**
 * Calls `check` every `intervalMs` until it returns a value other than undefined, and resolves
 * with it; rejects with the signal's reason once `signal` aborts.
 *
 * @example
 * const health = await poll(async () => (await fetch(url).catch(() => null))?.ok || undefined, {
 *   signal: AbortSignal.timeout(30_000),
 * })
 */
export async function poll<T>(
  check: () => Promise<T | undefined> | T | undefined,
  { signal, intervalMs = 250 }: PollOptions,
): Promise<T> {
  for (;;) {
    signal.throwIfAborted()
    const value = await check()
    if (value !== undefined) return value
    await sleep(intervalMs, undefined, { signal }).catch(() => signal.throwIfAborted())
  }
}
