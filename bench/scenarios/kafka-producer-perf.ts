import { topics } from '../../handlers/topics.ts'
import { createPurchaseGenerator } from '../../runtime/load/purchases.ts'
import { freshEvents, producerPerformance } from '../measure.ts'
import { spread } from '../rounds.ts'
import { defineScenario } from '../scenario.ts'

const boundMs = 120_000

export default defineScenario({
  id: 'kafka-producer-perf',
  stage: 'throughput',
  title: "Kafka's own ProducerPerformance (Java) with our JSON messages, acks=all, idempotent",
  topics: [{ name: 'java', partitions: topics.purchases.partitions }],
  async start(bench) {
    const { messages } = bench.options
    const sample = freshEvents(createPurchaseGenerator({ seed: bench.options.seed + 100 }), 1_000)
    const payloads = sample.map((event) => JSON.stringify(event))
    const messageBytes = Math.round(
      payloads.reduce((sum, payload) => sum + payload.length, 0) / payloads.length,
    )
    bench.setting('messageBytes', messageBytes)
    const rates: number[] = []
    let failed: string | undefined
    return {
      async round() {
        if (failed) return
        bench.say(`  ${messages} messages of ~${messageBytes} B`)
        await producerPerformance(
          bench.stack,
          bench.topic('java'),
          payloads,
          messages,
          bench.logsDir,
          boundMs,
          bench.say,
        ).then(
          (java) => rates.push(java.perSecond),
          (error: unknown) => {
            failed = String(error).split('\n')[0]
            bench.say(`  skipped from now on: ${String(error)}`)
            bench.note(`ProducerPerformance did not run: ${failed}`)
          },
        )
      },
      async finish() {
        // Every round or none: its ratios pair it round by round.
        if (failed) return []
        return [
          {
            id: 'kafka-producer-perf',
            measurement: `Kafka ProducerPerformance (Java), ${messages} msgs, acks=all, idempotent`,
            unit: 'msg/s',
            figure: spread(rates),
          },
        ]
      },
    }
  },
})
