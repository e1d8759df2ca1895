import { describe, expect, test, vi } from 'vitest'
import storePurchases from '../../handlers/subscribers/store-purchases.ts'
import { topics } from '../../handlers/topics.ts'
import { maxExtraMembers, maxReplays } from '../../live/limits.ts'
import type { DeadLetter } from '../../live/ports.ts'
import {
  consumerControlRoutes,
  createConsumerControl,
} from '../../live/runtime/consumer-control.ts'
import { createQueueView, toDeadLetter } from '../../live/runtime/queue-view.ts'
import obeyConsumerCommands from '../../live/subscribers/obey-consumer-commands.ts'
import { topics as liveTopics } from '../../live/topics.ts'
import { loadConfig } from '../../runtime/config.ts'
import type { Admin, GroupMemberAssignment } from '../../runtime/kafka/client.ts'
import { topicSpecs } from '../../runtime/kafka/topics.ts'
import { allSubscribers, allTopics } from '../../runtime/load-handlers.ts'
import { memoryLiveApp } from '../support/live.ts'
import { purchaseBody } from '../support/purchases.ts'
import { silentLogger } from '../support/runtime.ts'

const token = 'a-control-token-of-at-least-32-characters'
const bearer = { authorization: `Bearer ${token}` }

const deadLetter = (overrides: Partial<DeadLetter> = {}): DeadLetter => ({
  offset: '7',
  key: 'live-page-poison',
  value: '{"poison":true}',
  reason: 'schema: shop_id: Invalid input',
  failedAt: '2021-12-30T12:00:00.000Z',
  origin: { topic: 'purchases', partition: 2, offset: '41' },
  replays: 0,
  ...overrides,
})

describe('the live page routes', () => {
  test('the snapshot shows the partitions, the group, the store, the dead letters and the canary', async () => {
    const { app, ports } = await memoryLiveApp()
    ports.kafka.partitions = [
      { partition: 0, end: 10, committed: 4, oldestWaitingSince: '2021-12-30T11:59:58.000Z' },
    ]
    ports.kafka.members = [{ id: 'm-1', clientId: 'icecream', host: '/10.0.0.1', partitions: [0] }]
    ports.kafka.deadLetters = [deadLetter()]
    await storePurchases.handle(
      [
        storePurchases.schema.parse({
          ...purchaseBody(),
          timestamp: '2021-12-30T11:00:00Z',
          received_at: '2021-12-30T12:00:00Z',
        }),
      ],
      ports,
    )
    const response = await app.request('/live/snapshot')
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      partitions: ports.kafka.partitions,
      members: ports.kafka.members,
      documents: 1,
      deadLetters: 1,
      latestPurchases: [expect.objectContaining({ total_cents: expect.any(Number) })],
      freshness: { p50: 1.2, p99: 2.5, samples: 10 },
      load: { running: false },
    })
  })

  test('with Kafka or the store away, the snapshot still answers with what it could read', async () => {
    const { app, ports } = await memoryLiveApp()
    ports.outage.kafka = true
    ports.outage.store = true
    const body = await (await app.request('/live/snapshot')).json()
    expect(body).toMatchObject({
      partitions: null,
      members: null,
      documents: null,
      deadLetters: null,
    })
  })

  test("the snapshot is documented beside the product's routes; LIVE_PAGE=false serves no live route", async () => {
    const { app } = await memoryLiveApp()
    const spec = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, unknown>
    }
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/live/snapshot', '/purchases']),
    )
    const { app: off } = await memoryLiveApp({ livePage: false })
    expect((await off.request('/live/snapshot')).status).toBe(404)
  })

  test('without a control token the controls and the dead letters are not served at all', async () => {
    const { app, ports } = await memoryLiveApp()
    for (const [method, path] of [
      ['POST', '/live/poison'],
      ['POST', '/live/consumers/pause'],
      ['GET', '/live/dead-letters'],
      ['POST', '/live/load'],
    ] as const) {
      expect((await app.request(path, { method })).status).toBe(404)
    }
    expect(ports.published).toHaveLength(0)
  })

  test('with controls on, a request without the token or with another one is a 401 problem', async () => {
    const { app, ports } = await memoryLiveApp({ controlToken: token })
    const missing = await app.request('/live/poison', { method: 'POST' })
    expect(missing.status).toBe(401)
    expect(missing.headers.get('content-type')).toContain('application/problem+json')
    expect(missing.headers.get('www-authenticate')).toContain('Bearer')
    const wrong = await app.request('/live/poison', {
      method: 'POST',
      headers: { authorization: `Bearer ${token.replace('a', 'b')}` },
    })
    expect(wrong.status).toBe(401)
    expect(ports.published).toHaveLength(0)
  })

  test('a poison message is published to purchases and the subscriber refuses it', async () => {
    const { app, ports } = await memoryLiveApp({ controlToken: token })
    const response = await app.request('/live/poison', { method: 'POST', headers: bearer })
    expect(response.status).toBe(202)
    expect((await response.json()).watch).toMatch(/dead-letter count/)
    const [sent] = ports.published
    expect(sent?.topic).toBe('purchases')
    expect(storePurchases.schema.safeParse(sent?.event.value).success).toBe(false)
  })

  test('consumer commands go to the consumers.control topic that every consumer process follows', async () => {
    const { app, ports } = await memoryLiveApp({ controlToken: token })
    for (const command of ['pause', 'resume', 'add', 'remove']) {
      expect(
        (await app.request(`/live/consumers/${command}`, { method: 'POST', headers: bearer }))
          .status,
      ).toBe(202)
    }
    expect(
      ports.published.map(({ topic, event }) => [
        topic,
        (event.value as { command: string }).command,
      ]),
    ).toEqual([
      ['consumers.control', 'pause'],
      ['consumers.control', 'resume'],
      ['consumers.control', 'add'],
      ['consumers.control', 'remove'],
    ])
    expect(
      (await app.request('/live/consumers/scale', { method: 'POST', headers: bearer })).status,
    ).toBe(422)
  })

  test('redrive puts the original bytes back into purchases with the replay count one higher', async () => {
    const { app, ports } = await memoryLiveApp({ controlToken: token })
    ports.kafka.deadLetters = [deadLetter({ replays: 1 })]
    const response = await app.request('/live/dead-letters/7/redrive', {
      method: 'POST',
      headers: bearer,
    })
    expect(response.status).toBe(202)
    expect(ports.published).toEqual([
      {
        topic: 'purchases',
        event: {
          key: 'live-page-poison',
          value: '{"poison":true}',
          verbatim: true,
          headers: { 'replay-count': '2' },
        },
      },
    ])
  })

  test('redrive refuses an unknown dead letter (404) and one redriven to the limit (409)', async () => {
    const { app, ports } = await memoryLiveApp({ controlToken: token })
    ports.kafka.deadLetters = [deadLetter({ replays: maxReplays })]
    expect(
      (await app.request('/live/dead-letters/8/redrive', { method: 'POST', headers: bearer }))
        .status,
    ).toBe(404)
    const refused = await app.request('/live/dead-letters/7/redrive', {
      method: 'POST',
      headers: bearer,
    })
    expect(refused.status).toBe(409)
    expect((await refused.json()).detail).toContain(`limit is ${maxReplays}`)
    expect(ports.published).toHaveLength(0)
  })

  test('the dead letters list their reason, origin and contents, newest first', async () => {
    const { app, ports } = await memoryLiveApp({ controlToken: token })
    ports.kafka.deadLetters = [
      deadLetter({ offset: '9' }),
      deadLetter({ offset: '8' }),
      deadLetter(),
    ]
    const response = await app.request('/live/dead-letters?limit=2', { headers: bearer })
    expect((await response.json()).dead_letters.map((l: DeadLetter) => l.offset)).toEqual([
      '9',
      '8',
    ])
  })

  test('the load generator starts within bounds only', async () => {
    const { app, ports } = await memoryLiveApp({ controlToken: token })
    const start = (body: unknown) =>
      app.request('/live/load', {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    expect((await start({ rate_per_second: 100_000, duration_seconds: 10 })).status).toBe(422)
    expect((await start({ rate_per_second: 50, duration_seconds: 3600 })).status).toBe(422)
    expect((await start({ rate_per_second: 50, duration_seconds: 30 })).status).toBe(202)
    expect(ports.loads).toEqual([{ ratePerSecond: 50, durationSeconds: 30 }])
    expect((await app.request('/live/load', { method: 'DELETE', headers: bearer })).status).toBe(
      200,
    )
  })
})

describe("the live page's declarations", () => {
  test('its own topic, and the consumer commands read by every process, beside the product', async () => {
    expect(await allTopics()).toMatchObject({ ...topics, ...liveTopics })
    expect(liveTopics).toEqual({
      'consumers.control': {
        partitions: 1,
        replicationFactor: 3,
        config: { 'min.insync.replicas': 2, 'retention.ms': 3600 * 1000 },
      },
    })
    expect((await topicSpecs('run-1.', 1)).map((spec) => spec.name)).toContain(
      'run-1.consumers.control',
    )
    expect(
      (await allSubscribers()).map(({ topic, group, delivery }) => ({ topic, group, delivery })),
    ).toContainEqual({
      topic: 'consumers.control',
      group: 'consumers.control',
      delivery: 'every-process',
    })
  })
})

describe('the control configuration', () => {
  const base = { KAFKA_BROKERS: 'k:9092', ELASTICSEARCH_URL: 'http://es:9200' }
  test('the page is on and the controls off by default; the canary posts every 5 s', () => {
    expect(loadConfig(base)).toMatchObject({
      LIVE_PAGE: true,
      DEMO_CONTROLS: false,
      CANARY_INTERVAL_MS: 5000,
    })
  })
  test('DEMO_CONTROLS needs a token of at least 32 characters, and says so by name', () => {
    expect(() => loadConfig({ ...base, DEMO_CONTROLS: 'true' })).toThrow(
      /DEMO_CONTROL_TOKEN: is required with DEMO_CONTROLS=true/,
    )
    expect(() =>
      loadConfig({ ...base, DEMO_CONTROLS: 'true', DEMO_CONTROL_TOKEN: 'short' }),
    ).toThrow(/DEMO_CONTROL_TOKEN: must be at least 32 characters/)
  })
})

describe('the consumer commands in a consumer process', () => {
  function fakeRunner() {
    return {
      paused: false,
      stopped: false,
      pause() {
        this.paused = true
      },
      resume() {
        this.paused = false
      },
      async stop() {
        this.stopped = true
      },
    }
  }
  test(`pause and resume every member, add up to ${maxExtraMembers} members of each group, remove the last added`, async () => {
    const own = fakeRunner()
    const started: ReturnType<typeof fakeRunner>[] = []
    const consumers = {
      subscribers: [storePurchases],
      ports: {} as never,
      runners: [own as never],
      start: () => {
        const runner = fakeRunner()
        started.push(runner)
        return runner as never
      },
    }
    const control = createConsumerControl(consumers, silentLogger)
    control.obey('pause')
    for (let i = 0; i <= maxExtraMembers; i++) control.obey('add')
    expect(started).toHaveLength(maxExtraMembers)
    // Added while paused: they join paused.
    expect(started.every((runner) => runner.paused)).toBe(true)
    control.obey('resume')
    expect([own, ...started].some((runner) => runner.paused)).toBe(false)
    control.obey('remove')
    expect(started.map((runner) => runner.stopped)).toEqual([false, false, true])
    // A command arrives as the subscriber reads it.
    await obeyConsumerCommands.handle(
      [obeyConsumerCommands.schema.parse({ command: 'pause', sent_at: 'now' })],
      { consumers: control },
    )
    expect(own.paused).toBe(true)
  })
})

describe("a consumer process's own pause and resume", () => {
  test('need the control token', async () => {
    const runner = {
      paused: false,
      pause() {
        this.paused = true
      },
      resume() {
        this.paused = false
      },
    }
    const app = consumerControlRoutes([runner as never], token)
    expect((await app.request('/consumer/pause', { method: 'POST' })).status).toBe(401)
    expect((await app.request('/consumer', {})).status).toBe(401)
    expect(runner.paused).toBe(false)
    expect((await app.request('/consumer/pause', { method: 'POST', headers: bearer })).status).toBe(
      200,
    )
    expect(runner.paused).toBe(true)
  })
})

describe('the queue view on Kafka', () => {
  function fakeAdmin(readings: GroupMemberAssignment[][]) {
    let reading = 0
    const admin = {
      members: async () => readings[Math.min(reading++, readings.length - 1)] ?? [],
      offsets: async () => [0, 1].map((partition) => ({ partition, start: 0, end: 0 })),
    } as unknown as Admin
    return createQueueView(
      {} as never,
      async () => admin,
      { namePrefix: '', topic: 'purchases', group: 'g', deadLetter: 'd' },
      silentLogger,
    )
  }
  const member = (id: string, partitions: number[]) => ({
    id,
    clientId: 'c',
    host: 'h',
    partitions,
  })

  test('a change of owners is a rebalance: the partitions moved, and how long readings saw some without an owner', async () => {
    const view = fakeAdmin([
      [member('a', [0, 1])],
      [member('a', []), member('b', [])],
      [member('a', []), member('b', [])],
      [member('a', [0]), member('b', [1])],
      [member('a', [0, 1])],
    ])
    const readAt = async (ms: number) => {
      vi.setSystemTime(ms)
      await view.members()
    }
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      await readAt(10_000)
      expect(await view.rebalances()).toEqual([])
      await readAt(11_000) // the first reading inside the rebalance
      await readAt(12_000)
      await readAt(13_500) // the new owners
      expect(await view.rebalances()).toEqual([
        {
          at: new Date(13_500).toISOString(),
          members: 2,
          moved: 1,
          unownedMs: 2_500,
          readingsApartMs: 1_500,
        },
      ])
      // No reading fell inside the next one: it is said to lie between two readings.
      await readAt(14_500)
      expect((await view.rebalances())[1]).toEqual({
        at: new Date(14_500).toISOString(),
        members: 1,
        moved: 1,
        unownedMs: 0,
        readingsApartMs: 1_000,
      })
    } finally {
      vi.useRealTimers()
    }
  })

  test('a dead letter is read from its headers, replay count included', () => {
    const letter = toDeadLetter({
      key: Buffer.from('k'),
      value: Buffer.from('not json'),
      offset: 3n,
      timestamp: 0,
      headers: {
        'dead-letter.reason': 'not JSON',
        'dead-letter.failed-at': '2021-12-30T12:00:00.000Z',
        'dead-letter.origin.topic': 'purchases',
        'dead-letter.origin.partition': '4',
        'dead-letter.origin.offset': '17',
        'replay-count': '2',
      },
    })
    expect(letter).toEqual({
      offset: '3',
      key: 'k',
      value: 'not json',
      reason: 'not JSON',
      failedAt: '2021-12-30T12:00:00.000Z',
      origin: { topic: 'purchases', partition: 4, offset: '17' },
      replays: 2,
    })
  })
})
