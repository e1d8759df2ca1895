import { pino } from 'pino'
import { expect, test } from 'vitest'
import { kafkajsLog } from '../../runtime/kafka/kafkajs.ts'

// kafkajs's logLevel values, written out: only runtime/kafka/ imports a Kafka client.
const logLevel = { ERROR: 1, WARN: 2 } as const

/** What kafkajs's connection logs when a broker answers a request with an error. */
const response = (error: string) => ({
  namespace: 'Connection',
  level: logLevel.ERROR,
  label: 'ERROR',
  log: {
    timestamp: '2026-12-08T01:00:00.000Z',
    message: 'Response FindCoordinator(key: 10, version: 2)',
    broker: '127.0.0.1:19092',
    clientId: 'icecream',
    error,
    correlationId: 3,
    size: 80,
  },
})

function capture() {
  const lines: { level: number; msg: string; error?: string }[] = []
  const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { log: kafkajsLog(logger), lines }
}

test('the coordinator still loading, which every start passes through, is logged below error; other errors stay errors', () => {
  const { log, lines } = capture()
  log(response("The coordinator is loading and hence can't process requests for this group"))
  log(response('The user does not have access to this group'))
  log({ ...response('unused'), level: logLevel.WARN, log: { timestamp: '', message: 'a warning' } })

  expect(lines.map(({ level, msg }) => [pino.levels.labels[level], msg])).toEqual([
    ['debug', 'Response FindCoordinator(key: 10, version: 2)'],
    ['error', 'Response FindCoordinator(key: 10, version: 2)'],
    ['warn', 'a warning'],
  ])
  expect(lines[0]?.error).toMatch(/coordinator is loading/)
})
