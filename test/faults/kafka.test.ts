/**
 * Kafka's faults under load, on three KRaft nodes with the chart's replication (3, min in-sync 2):
 * each scenario prints its audit row and must read 0 lost, 0 duplicated.
 */
import { describe, expect, test } from 'vitest'
import { loadConfig } from '../../runtime/config.ts'
import { apiUrl, control, underLoad } from './suite.ts'

/** The API's deadline for Kafka's acknowledgement (its default): a refusal comes within it. */
const publishTimeoutMs = loadConfig({
  KAFKA_BROKERS: 'x:1',
  ELASTICSEARCH_URL: 'http://x',
}).PUBLISH_TIMEOUT_MS

describe('Kafka faults', () => {
  test('a. one broker SIGKILLed and restarted: the API keeps answering 202', async () => {
    await underLoad('a. one broker killed, restarted after ~10 s', { seed: 101 }, async (load) => {
      await control().kafka(2, 'kill')
      // Node 2's partitions get leaders on the other two (after its ~9 s session) and the API
      // acknowledges again while it is dead. Then it comes back.
      await load.acknowledged(1_500)
      await control().kafka(2, 'restart')
    })
  })

  test('b. two brokers killed: fast 503s with Retry-After and /readyz says why; then all stored', async () => {
    const row = await underLoad('b. two brokers killed, restarted', { seed: 102 }, async (load) => {
      await Promise.all([control().kafka(2, 'kill'), control().kafka(3, 'kill')])
      // One node of three has no controller quorum: no write can be acknowledged.
      await expect
        .poll(
          async () => {
            const ready = await fetch(`${apiUrl()}/readyz`)
            return { status: ready.status, body: await ready.json() }
          },
          { timeout: 60_000, interval: 500 },
        )
        .toMatchObject({
          status: 503,
          body: { checks: { kafka: expect.stringMatching(/produce failed|no acknowledgement/) } },
        })
      await load.answered(3_000)
      expect(load.answers.get('503')).toBeGreaterThan(0)
      await Promise.all([control().kafka(2, 'restart'), control().kafka(3, 'restart')])
    })
    // Refused, never hung: every answer other than 202 was a 503 within the publish deadline.
    expect(Object.keys(row.refused)).toEqual(['503'])
    expect(row.maxRefusalMs).toBeLessThan(2 * publishTimeoutMs)
  })

  test('c. a broker frozen with SIGSTOP for ~20 s, then SIGCONT', async () => {
    await underLoad('c. one broker frozen ~20 s', { seed: 103 }, async (load) => {
      await control().kafka(2, 'freeze')
      // About 20 s at 200 answers a second.
      await load.answered(4_000)
      await control().kafka(2, 'thaw')
    })
  })

  test('d. produce answers lost past the client timeout: nothing lost, no partition stays refused', async () => {
    let delayed = 0
    await underLoad('d. produce answers delayed past the timeout', { seed: 104 }, async (load) => {
      await control().delayProduceResponses(1, 2 * publishTimeoutMs)
      await load.answered(3_000)
      delayed = Number((await control().restoreProxy(1)).delayedProduceResponses)
    })
    expect(delayed).toBeGreaterThan(0)
  })
})
