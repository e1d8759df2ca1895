/**
 * Paired rounds: each measurement and its ceiling run alternately, round after round, so each
 * ratio compares two figures taken under about the same machine load; a ratio is reported as the
 * median of its rounds with their spread.
 */
import { loadavg } from 'node:os'

export interface Spread {
  median: number
  min: number
  max: number
  /** One value per round, in round order. */
  rounds: number[]
}

export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error('a spread needs at least one value')
  const sorted = values.toSorted((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
  return {
    median,
    min: sorted[0] as number,
    max: sorted.at(-1) as number,
    rounds: values,
  }
}

/** The ratio of each round's part to the same round's whole. */
export function pairedRatio(parts: number[], wholes: number[]): Spread {
  if (parts.length !== wholes.length) throw new Error('paired rounds need as many parts as wholes')
  return spread(parts.map((part, round) => part / (wholes[round] as number)))
}

export interface LoadSample {
  /** Seconds since the run began. */
  at: number
  /** The one-minute load average. */
  load: number
}

/** Samples the machine's one-minute load average while the run goes on. */
export function sampleLoad(everyMs: number, began: number) {
  const samples: LoadSample[] = []
  const take = () =>
    samples.push({ at: Math.round((performance.now() - began) / 1000), load: loadavg()[0] ?? 0 })
  take()
  const timer = setInterval(take, everyMs)
  timer.unref()
  return {
    samples,
    stop() {
      clearInterval(timer)
      take()
    },
  }
}
