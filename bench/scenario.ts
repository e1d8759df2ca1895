/**
 * A bench scenario: one row family in one file of bench/scenarios/, named by its id. It starts
 * what it needs once, measures once per round (alternating with the other scenarios of its
 * stage, so each ratio pairs figures taken under the same machine load), then answers its rows.
 * Its ceilings are data: the report divides its rows by theirs, whatever the names.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Bench } from './context.ts'
import type { Ceiling, MeasuredRow } from './report.ts'

/**
 * The stages, in the order they run. A stage's scenarios run side by side, their rounds
 * alternating; its processes stop before the next stage starts (a paused consumer of one stage
 * would hold partitions of the group the next one uses).
 */
export const stages = ['throughput', 'freshness', 'queries', 'buffering'] as const
export type Stage = (typeof stages)[number]

export interface Measuring {
  /** One round's measurement; `round` counts from 1. */
  round(round: number): Promise<void>
  /** Stops what it started and answers its rows from every round's figures. */
  finish(): Promise<MeasuredRow[]>
}

export interface Scenario {
  /** Its rows' id (api-batched); bench/README.md says what it measures. */
  id: string
  stage: Stage
  /** What it measures, in one line (progress and --help). */
  title: string
  /** The rows its own rows are divided by (their ids), with targets for the ratios. */
  ceilings?: Ceiling[]
  /** Measured in the first round only: it takes long and pairs with nothing. */
  once?: boolean
  /** Topics of the run's own it uses, by a short name (`bench.topic(name)`): created and deleted. */
  topics?: { name: string; partitions: number }[]
  /** Indices of the run's own it writes (`bench.index(name)`): deleted at the end. */
  indices?: string[]
  /** Starts what the rounds need (processes, clients, data). */
  start(bench: Bench): Promise<Measuring>
}

/** For the types, as defineRoute is: a scenario file's default export. */
export const defineScenario = (scenario: Scenario): Scenario => scenario

const scenariosDir = join(import.meta.dirname, 'scenarios')

/** Every file in bench/scenarios/, in stage order, then by name; its id must be its file's name. */
export async function loadScenarios(): Promise<Scenario[]> {
  const files = (await readdir(scenariosDir)).filter((file) => file.endsWith('.ts')).sort()
  const scenarios = await Promise.all(
    files.map(async (file) => {
      const { default: scenario } = (await import(
        pathToFileURL(join(scenariosDir, file)).href
      )) as {
        default?: Scenario
      }
      if (scenario?.id !== file.replace(/\.ts$/, '') || typeof scenario.start !== 'function') {
        throw new Error(
          `bench/scenarios/${file}: the default export must be defineScenario({ id: '${file.replace(/\.ts$/, '')}', ... })`,
        )
      }
      return scenario
    }),
  )
  checkCeilings(scenarios)
  return scenarios.sort((a, b) => stages.indexOf(a.stage) - stages.indexOf(b.stage))
}

/** Refuses a ceiling that names no scenario: its ratio could never be rendered. */
export function checkCeilings(scenarios: Scenario[]): void {
  const ids = new Set(scenarios.map((scenario) => scenario.id))
  for (const scenario of scenarios) {
    for (const ceiling of scenario.ceilings ?? []) {
      if (!ids.has(ceiling.of)) {
        throw new Error(`${scenario.id}: its ceiling ${ceiling.of} is no scenario's id`)
      }
    }
  }
}

/** The scenarios `chosen` names (ids or stage names), in the order they run. */
export function choose(scenarios: Scenario[], chosen: string[] | undefined): Scenario[] {
  if (!chosen) return scenarios
  const known = new Set([...stages, ...scenarios.map((scenario) => scenario.id)])
  const unknown = chosen.filter((name) => !known.has(name))
  if (unknown.length > 0) {
    throw new Error(
      `--scenario: no scenario or stage ${unknown.join(', ')}; the scenarios are ${scenarios.map((scenario) => scenario.id).join(', ')}; the stages ${stages.join(', ')}`,
    )
  }
  return scenarios.filter(
    (scenario) => chosen.includes(scenario.id) || chosen.includes(scenario.stage),
  )
}
