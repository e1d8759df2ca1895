import { topics } from '../../handlers/topics.ts'
import { createPurchaseGenerator } from '../../runtime/load/purchases.ts'
import { contenders, eachContender } from '../context.ts'
import { freshEvents, produceBatch, rawProduce } from '../measure.ts'
import { spread } from '../rounds.ts'
import { defineScenario } from '../scenario.ts'

const boundMs = 60_000

export default defineScenario({
  id: 'raw-produce',
  stage: 'throughput',
  title: `each producer adapter alone, sequential batches of ${produceBatch}, acks=all, idempotent: the produce ceiling`,
  ceilings: [{ of: 'kafka-producer-perf' }],
  // A topic per adapter that nothing consumes.
  topics: contenders.map(({ adapter }) => ({
    name: `raw-${adapter}`,
    partitions: topics.purchases.partitions,
  })),
  async start(bench) {
    // Fresh ids every round: a second round's messages are new ones.
    const sources = bench.contenders.map((_, at) =>
      createPurchaseGenerator({ seed: bench.options.seed + 100 + at, days: 90 }),
    )
    const rates = bench.contenders.map(() => [] as number[])
    return {
      async round(round) {
        await eachContender(bench, async ({ adapter, name }, at) => {
          const result = await rawProduce(
            await bench.producer(adapter),
            bench.topic(`raw-${adapter}`),
            freshEvents(sources[at] as (typeof sources)[number], bench.options.messages),
            produceBatch,
            boundMs,
            bench.say,
          )
          if (result.cutShort)
            bench.note(`Round ${round}: raw-produce with ${name} hit its time bound.`)
          rates[at]?.push(result.perSecond)
          bench.say(`  ${name}: ${Math.round(result.perSecond)} msg/s`)
        })
      },
      async finish() {
        return bench.contenders.map(({ name }, at) => ({
          id: 'raw-produce',
          variant: name,
          measurement: `${name} producer adapter, sequential batches of ${produceBatch}`,
          unit: 'msg/s',
          figure: spread(rates[at] ?? []),
        }))
      },
    }
  },
})
