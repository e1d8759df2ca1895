// The `helm test` checks' verdicts, on fakes of the Kafka admin port and the Elasticsearch client
// (a real cluster answers them in `helm test`).
import { errors } from '@elastic/elasticsearch'
import { describe, expect, test } from 'vitest'
import { CheckFailure } from '../../runtime/checks/check.ts'
import { checkReadOnly, type IndexAccess } from '../../runtime/checks/elasticsearch-access.ts'
import { checkKafkaAccess, type Expectation } from '../../runtime/checks/kafka-access.ts'

/** A Kafka protocol error as the client reports it: its name in `type`. */
const protocolError = (type: string) => Object.assign(new Error(`server said ${type}`), { type })

describe('kafka-access', () => {
  const run = (expectation: Expectation, answer: () => Promise<void>) => {
    let disconnected = false
    const result = checkKafkaAccess({
      connect: async () => {
        await answer()
        return {
          lag: async () => [{ partition: 0, committed: 3, end: 5, lag: 2 }],
          disconnect: async () => {
            disconnected = true
          },
        }
      },
      group: 'purchases-indexer',
      topic: 'purchases',
      expectation,
    })
    return { result, disconnected: () => disconnected }
  }
  const lagRefused = (type: string) =>
    checkKafkaAccess({
      connect: async () => ({
        lag: () => Promise.reject(protocolError(type)),
        disconnect: async () => {},
      }),
      group: 'purchases-indexer',
      topic: 'purchases',
      expectation: 'refused',
    })

  test('allowed: passes when the offsets are readable, and disconnects', async () => {
    const { result, disconnected } = run('allowed', async () => {})
    await expect(result).resolves.toMatch(/1 partition\(s\), lag 2/)
    expect(disconnected()).toBe(true)
  })

  test('refused: fails when the offsets are readable', async () => {
    await expect(run('refused', async () => {}).result).rejects.toThrow(/must not be allowed to/)
  })

  test.each(['GROUP_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED'])(
    'refused: passes on %s',
    async (type) => {
      await expect(lagRefused(type)).resolves.toMatch(/Kafka refused/)
    },
  )

  test('refused: a failed login or connection is not a refusal', async () => {
    await expect(lagRefused('SASL_AUTHENTICATION_FAILED')).rejects.toThrow(CheckFailure)
    const unreachable = run('refused', () => Promise.reject(new Error('connect ECONNREFUSED')))
    await expect(unreachable.result).rejects.toThrow(/expected an authorization refusal/)
  })

  test('allowed: a refusal fails', async () => {
    const r = checkKafkaAccess({
      connect: async () => ({
        lag: () => Promise.reject(protocolError('GROUP_AUTHORIZATION_FAILED')),
        disconnect: async () => {},
      }),
      group: 'g',
      topic: 't',
      expectation: 'allowed',
    })
    await expect(r).rejects.toThrow(/could not read the offsets of group "g"/)
  })
})

describe('elasticsearch-access', () => {
  const responseError = (statusCode: number) =>
    new errors.ResponseError({
      body: {
        error: { type: statusCode === 403 ? 'security_exception' : 'conflict' },
        status: statusCode,
      },
      statusCode,
      headers: {},
      warnings: null,
      meta: {} as never,
    })
  const client = (count: () => Promise<{ count: number }>, index: () => Promise<unknown>) => {
    const writes: unknown[] = []
    const access: IndexAccess = {
      count,
      index: (params) => {
        writes.push(params)
        return index()
      },
    }
    return { access, writes }
  }

  test('passes when reads work and the write is refused with 403; the write could never apply', async () => {
    const { access, writes } = client(
      async () => ({ count: 7 }),
      () => Promise.reject(responseError(403)),
    )
    await expect(checkReadOnly(access, 'purchases')).resolves.toMatch(
      /7 documents.*refused \(403\)/,
    )
    expect(writes).toEqual([
      expect.objectContaining({ index: 'purchases', if_seq_no: 0, if_primary_term: 1 }),
    ])
  })

  test('fails when the write gets past authorization (409: it was allowed, nothing written)', async () => {
    const { access } = client(
      async () => ({ count: 0 }),
      () => Promise.reject(responseError(409)),
    )
    await expect(checkReadOnly(access, 'purchases')).rejects.toThrow(/may write to index/)
  })

  test('fails when the index cannot be read', async () => {
    const { access, writes } = client(
      () => Promise.reject(responseError(403)),
      async () => ({}),
    )
    await expect(checkReadOnly(access, 'purchases')).rejects.toThrow(/could not read index/)
    expect(writes).toEqual([])
  })
})
