/**
 * Open-loop load: sends start on a fixed schedule, whatever the answers do, so a slow system
 * cannot slow the load down and hide its own latency (closed-loop load suffers "coordinated
 * omission"). Bounded in rate, duration and requests in flight: a send due while `maxInFlight`
 * are outstanding is skipped and counted, never queued.
 */

export interface OpenLoopOptions {
  ratePerSecond: number
  durationMs: number
  maxInFlight: number
  /** Ends the load early; the sends in flight are still awaited. */
  signal?: AbortSignal
  /** Called about every `progressEveryMs` (default 5 s) while the load runs. */
  onProgress?: (stats: LoadStats) => void
  progressEveryMs?: number
}

export interface LoadStats {
  /** Sends that were due by the schedule. */
  offered: number
  started: number
  /** Sends whose promise settled (resolved or rejected). */
  settled: number
  /** Due while `maxInFlight` sends were outstanding. */
  skipped: number
  elapsedMs: number
}

const tickMs = 5

/**
 * Calls `send(next())` `ratePerSecond` times a second for `durationMs`, then waits for the sends
 * in flight. `send` records its own outcome; a rejection is counted as settled, never thrown.
 */
export async function runOpenLoop<T>(
  next: () => T,
  send: (item: T) => Promise<unknown>,
  options: OpenLoopOptions,
): Promise<LoadStats> {
  const { ratePerSecond, durationMs, maxInFlight, signal } = options
  if (!(ratePerSecond > 0) || !(durationMs > 0) || !(maxInFlight > 0)) {
    throw new RangeError('ratePerSecond, durationMs and maxInFlight must be positive')
  }
  const stats: LoadStats = { offered: 0, started: 0, settled: 0, skipped: 0, elapsedMs: 0 }
  const inFlight = new Set<Promise<unknown>>()
  const began = performance.now()
  let reported = began
  const { promise: ended, resolve: end } = Promise.withResolvers<void>()
  const tick = () => {
    const now = performance.now()
    stats.elapsedMs = Math.min(now - began, durationMs)
    const due = Math.floor((stats.elapsedMs / 1000) * ratePerSecond)
    while (stats.offered < due) {
      stats.offered++
      if (inFlight.size >= maxInFlight) {
        stats.skipped++
        continue
      }
      stats.started++
      const sending = Promise.resolve()
        .then(() => send(next()))
        .catch(() => {})
        .finally(() => {
          stats.settled++
          inFlight.delete(sending)
        })
      inFlight.add(sending)
    }
    if (options.onProgress && now - reported >= (options.progressEveryMs ?? 5_000)) {
      reported = now
      options.onProgress({ ...stats })
    }
    if (now - began >= durationMs || signal?.aborted) end()
  }
  const timer = setInterval(tick, tickMs)
  signal?.addEventListener('abort', () => end(), { once: true })
  try {
    await ended
  } finally {
    clearInterval(timer)
  }
  while (inFlight.size > 0) await Promise.allSettled([...inFlight])
  stats.elapsedMs = performance.now() - began
  return stats
}
