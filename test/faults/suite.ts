/** What every fault scenario shares: the control, the API, and a scenario under audited load. */
import { expect, inject } from 'vitest'
import {
  type AuditedLoad,
  type AuditRow,
  audit,
  type LoadOptions,
  startAuditedLoad,
} from './audit.ts'
import { faultControl } from './control.ts'

export const control = () => faultControl(inject('faults').controlUrl)
export const apiUrl = () => inject('faults').apiUrl

/** Answers before the fault: the load is steady (a few seconds at the default rate). */
const steadyAnswers = 1_000
/** 202s in a row after the fault: the API takes purchases again, on every partition. */
const recoveredAnswers = 1_000

/**
 * Runs `fault` under a steady audited load (after the first answers), lets the load go on until
 * the API has acknowledged a run of purchases again, audits the scenario, and holds it to the
 * promise: nothing acknowledged lost, nothing stored twice.
 */
export async function underLoad(
  scenario: string,
  load: LoadOptions,
  fault: (load: AuditedLoad) => Promise<void>,
): Promise<AuditRow> {
  process.stderr.write(`scenario ${scenario}\n`)
  const running = await startAuditedLoad(apiUrl(), load)
  await running.answered(steadyAnswers)
  running.faultInjected()
  await fault(running)
  // A load that reaches its longest duration first ends the wait: the row then shows why.
  const recovered = await Promise.race([
    running.acceptedInARow(recoveredAnswers).then(() => true),
    running.finished.then(() => false),
  ])
  running.stop()
  const row = await audit(scenario, running)
  expect(recovered, `${recoveredAnswers} purchases acknowledged in a row after the fault`).toBe(
    true,
  )
  expect(row.acknowledged).toBeGreaterThan(0)
  expect({ lost: row.lost, duplicated: row.duplicated }).toEqual({ lost: 0, duplicated: 0 })
  return row
}
