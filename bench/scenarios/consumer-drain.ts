import { randomBytes } from 'node:crypto'
import storePurchases from '../../handlers/subscribers/store-purchases.ts'
import { kafkaName } from '../../runtime/kafka/topics.ts'
import { createPurchaseGenerator } from '../../runtime/load/purchases.ts'
import type { AppProcess } from '../../scripts/local-stack/harness.ts'
import { eachContender } from '../context.ts'
import { drainConsumer, freshEvents, produceBatch, rawProduce } from '../measure.ts'
import { watchMemory } from '../memory.ts'
import { spread } from '../rounds.ts'
import { defineScenario } from '../scenario.ts'

const boundMs = 180_000

export default defineScenario({
  id: 'consumer-drain',
  stage: 'throughput',
  title:
    "each adapter's consumer process, paused while its topic fills, resumed until the lag is 0",
  ceilings: [{ of: 'store-bulk', target: { op: '>=', value: 0.8 } }],
  async start(bench) {
    // The consumers' DEMO_CONTROL_TOKEN: they are paused and resumed over HTTP.
    const token = randomBytes(24).toString('hex')
    const prefixes = await eachContender(bench, ({ adapter }) => bench.prefixOf(adapter))
    const consumers: AppProcess[] = await eachContender(bench, ({ adapter }, at) =>
      bench.startApp({
        role: 'consumer',
        name: `consumer ${adapter}`,
        env: {
          KAFKA_CLIENT: adapter,
          KAFKA_NAME_PREFIX: prefixes[at] as string,
          DEMO_CONTROLS: 'true',
          DEMO_CONTROL_TOKEN: token,
        },
        output: bench.logFile(`consumer-${adapter}`),
      }),
    )
    const memory = consumers.map((consumer) => watchMemory(consumer.pid))
    const control = async (consumer: AppProcess, action: 'pause' | 'resume') => {
      const response = await fetch(`${consumer.url}/consumer/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      })
      if (!response.ok) {
        throw new Error(`${action} ${consumer.name}: ${response.status} ${await response.text()}`)
      }
    }
    await Promise.all(consumers.map((consumer) => control(consumer, 'pause')))
    const sources = bench.contenders.map((_, at) =>
      createPurchaseGenerator({ seed: bench.options.seed + 150 + at, days: 90 }),
    )
    const figures = bench.contenders.map(() => ({ rate: [] as number[], startup: [] as number[] }))
    return {
      async round(round) {
        await eachContender(bench, async ({ adapter, name }, at) => {
          const prefix = prefixes[at] as string
          const consumer = consumers[at] as AppProcess
          const topic = kafkaName(prefix, storePurchases.topic)
          bench.say(`  ${name}: filling its topic with ${bench.options.messages} events (paused)`)
          const events = freshEvents(
            sources[at] as (typeof sources)[number],
            bench.options.messages,
          )
          await rawProduce(
            await bench.producer(adapter),
            topic,
            events,
            produceBatch,
            boundMs,
            () => {},
          )
          const result = await drainConsumer(
            await bench.admin(),
            kafkaName(prefix, storePurchases.group),
            topic,
            async () => {
              await control(consumer, 'resume')
              return { stop: () => control(consumer, 'pause') }
            },
            boundMs,
            bench.say,
          )
          if (result.cutShort)
            bench.note(`Round ${round}: consumer-drain with ${name} hit its time bound.`)
          figures[at]?.rate.push(result.perSecond)
          figures[at]?.startup.push(result.startupSeconds)
          bench.say(
            `  ${name}: ${Math.round(result.perSecond)} events/s over ${result.events} events`,
          )
        })
      },
      async finish() {
        const peaks = await Promise.all(memory.map((watch) => watch.stop()))
        await Promise.all(consumers.map((consumer) => consumer.stop()))
        const { messages } = bench.options
        return [
          ...bench.contenders.map(({ name }, at) => ({
            id: 'consumer-drain',
            variant: name,
            measurement: `${name} consumer drains ${messages} events per round (first commit after ${spread(figures[at]?.startup ?? []).median.toFixed(1)} s)`,
            unit: 'events/s',
            figure: spread(figures[at]?.rate ?? []),
          })),
          ...bench.contenders.map(({ name }, at) => ({
            id: 'consumer-drain-memory',
            variant: name,
            measurement: `peak RSS of the consumer through the rounds' consumer-drain, ${name}`,
            unit: 'MiB',
            figure: spread([peaks[at] ?? 0]),
          })),
        ]
      },
    }
  },
})
