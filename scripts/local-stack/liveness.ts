/**
 * What the kubelet does for the deployed app, for the processes the local harness starts: a
 * process whose /healthz fails the chart's liveness probe (chart/templates/deployment.yaml) so
 * many times in a row is replaced. A consumer whose Kafka client kept giving up during an outage
 * answers 503 there; deployed it is restarted, and here too (`npm start`, the fault suite).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Log } from './proc.ts'

export interface LivenessProbe {
  periodMs: number
  timeoutMs: number
  failureThreshold: number
}

/** The chart's livenessProbe: every 10 s, 2 s to answer, replaced after 3 failures. */
export const chartLiveness: LivenessProbe = {
  periodMs: 10_000,
  timeoutMs: 2_000,
  failureThreshold: 3,
}

export interface LivenessOptions {
  /** The processes that should run now, by name: the running one's URL, or none while it is down. */
  watched: () => Iterable<readonly [name: string, url: string | undefined]>
  /**
   * Stops what is left of the named process and starts it again, until it is ready; `url` is the
   * one that failed (a process replaced meanwhile by someone else is left alone).
   */
  replace: (name: string, url: string | undefined) => Promise<void>
  log: Log
  probe?: LivenessProbe
}

async function healthy(url: string, timeoutMs: number): Promise<boolean> {
  const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) }).catch(
    () => undefined,
  )
  await response?.body?.cancel()
  return response?.ok === true
}

/** Probes each watched process every period until stop(); stop() waits for a replacement under way. */
export function keepAlive(options: LivenessOptions): { stop(): Promise<void> } {
  const { periodMs, timeoutMs, failureThreshold } = options.probe ?? chartLiveness
  const stopping = new AbortController()
  const failures = new Map<string, number>()
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await sleep(periodMs, undefined, { signal: stopping.signal }).catch(() => {})
      for (const [name, url] of [...options.watched()]) {
        if (stopping.signal.aborted) break
        if (url && (await healthy(url, timeoutMs))) {
          failures.delete(name)
          continue
        }
        const failed = (failures.get(name) ?? 0) + 1
        failures.set(name, failed)
        if (failed < failureThreshold) continue
        options.log(`${name}: liveness failed ${failed} times, restarting it as the kubelet would`)
        failures.delete(name)
        await options.replace(name, url).catch((error: unknown) => options.log(`${name}: ${error}`))
      }
    }
  })()
  return {
    async stop() {
      stopping.abort()
      await loop
    },
  }
}
