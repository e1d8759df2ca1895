/**
 * What the kubelet does for the deployed app, for the processes the local harness starts: a
 * process whose /healthz fails the chart's liveness probe (chart/templates/deployment.yaml) so
 * many times in a row is replaced. A consumer whose Kafka client kept giving up during an outage
 * answers 503 there; deployed it is restarted, and here too (`npm start`, the fault suite).
 * `supervise` (npm start) also restarts a process that exited, after the kubelet's back-off.
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

// --- Restarts: what the kubelet does for a container that exits or fails its liveness probe.

export interface BackOff {
  /** The wait before the first restart; each restart after it waits twice the one before. */
  initialMs: number
  maxMs: number
  /** A process that ran this long before it ended starts over from `initialMs`. */
  resetAfterMs: number
}

/** The kubelet's CrashLoopBackOff: 10 s, doubling up to 5 min, reset after 10 min of running. */
export const kubeletBackOff: BackOff = {
  initialMs: 10_000,
  maxMs: 300_000,
  resetAfterMs: 600_000,
}

/** The wait before the next restart, from the previous one's (none yet) and how long it ran since. */
export function nextBackOff(
  previousMs: number | undefined,
  ranMs: number,
  backOff: BackOff,
): number {
  if (previousMs === undefined || ranMs >= backOff.resetAfterMs) return backOff.initialMs
  return Math.min(previousMs * 2, backOff.maxMs)
}

/** A supervised process: what it needs of the harness's AppProcess. */
export interface Supervised {
  url: string
  stop(): Promise<unknown>
}

export interface SupervisorOptions<P extends Supervised> {
  /** The processes as started and ready, by name. */
  processes: Map<string, P>
  /** Starts the named process again and resolves once it is ready. */
  start: (name: string) => Promise<P>
  log: Log
  probe?: LivenessProbe
  backOff?: BackOff
}

export interface Supervisor {
  /** A process ended without being asked to (`how`: its exit code or signal): restart it. */
  exited(name: string, how: number | string): void
  /** How often each process was restarted. */
  restarts(): Map<string, number>
  /** Ends the probes and the restarts waiting or under way (the caller stops the processes). */
  stop(): Promise<void>
}

/**
 * The kubelet for local processes: one that exits, or fails its liveness probe so many times in
 * a row (stopped first), is started again after a growing back-off, counted and logged; the
 * others keep running meanwhile.
 */
export function supervise<P extends Supervised>(options: SupervisorOptions<P>): Supervisor {
  const { log } = options
  const backOff = options.backOff ?? kubeletBackOff
  const stopping = new AbortController()
  const running = new Map<string, P | undefined>(options.processes)
  const startedAt = new Map([...running.keys()].map((name) => [name, Date.now()]))
  const lastBackOff = new Map<string, number>()
  const restarts = new Map([...running.keys()].map((name) => [name, 0]))
  const underWay = new Set<Promise<void>>()

  const restart = (name: string, why: string) => {
    running.set(name, undefined)
    const count = (restarts.get(name) ?? 0) + 1
    restarts.set(name, count)
    const delayMs = nextBackOff(
      lastBackOff.get(name),
      Date.now() - (startedAt.get(name) ?? 0),
      backOff,
    )
    lastBackOff.set(name, delayMs)
    log(
      `the ${name} process ${why}; restart ${count} in ${delayMs / 1000} s (back-off, as the kubelet's)`,
    )
    const restarting = (async () => {
      await sleep(delayMs, undefined, { signal: stopping.signal })
      startedAt.set(name, Date.now())
      running.set(name, await options.start(name))
      log(`the ${name} process is running again (restart ${count})`)
    })().catch((error: unknown) => {
      if (!stopping.signal.aborted) restart(name, `did not start again (${error})`)
    })
    underWay.add(restarting)
    void restarting.finally(() => underWay.delete(restarting))
  }

  const liveness = keepAlive({
    // One waiting for its restart is not probed.
    watched: () => [...running].flatMap(([name, app]) => (app ? [[name, app.url] as const] : [])),
    replace: async (name, url) => {
      const app = running.get(name)
      if (!app || app.url !== url) return
      running.set(name, undefined)
      await app.stop()
      restart(name, 'failed its liveness probe and was stopped')
    },
    log,
    probe: options.probe,
  })

  return {
    exited: (name, how) => {
      if (!stopping.signal.aborted) restart(name, `exited (${how})`)
    },
    restarts: () => new Map(restarts),
    async stop() {
      stopping.abort()
      await liveness.stop()
      await Promise.all(underWay)
    },
  }
}
