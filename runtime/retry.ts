import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Connects lazily and again after a failure: the first caller starts the connection, the
 * others share it, and a failed attempt is forgotten so the next call tries anew.
 */
export function lazy<T>(connect: () => Promise<T>): () => Promise<T> {
  let connection: Promise<T> | undefined
  return () => {
    connection ??= connect().catch((error: unknown) => {
      connection = undefined
      throw error
    })
    return connection
  }
}

/** Retries `work` with exponential back-off until it succeeds or `signal` aborts. */
export async function retryUntil<T>(
  work: () => Promise<T>,
  onFailure: (error: unknown, attempt: number) => void,
  signal: AbortSignal,
  maxDelayMs = 10_000,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      signal.throwIfAborted()
      onFailure(error, attempt)
      await sleep(Math.min(maxDelayMs, 250 * 2 ** attempt), undefined, { signal })
    }
  }
}
