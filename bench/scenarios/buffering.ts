import storePurchases from '../../handlers/subscribers/store-purchases.ts'
import { kafkaName } from '../../runtime/kafka/topics.ts'
import { type BufferingResult, measureBuffering } from '../buffering.ts'
import { withProcess } from '../context.ts'
import { spread } from '../rounds.ts'
import { defineScenario } from '../scenario.ts'

const seconds = 60
const drainBoundMs = 180_000
/** Offered when raw-produce did not run. */
const fallbackRate = 20_000

export default defineScenario({
  id: 'buffering',
  stage: 'buffering',
  title:
    'events produced straight to the topic faster than a consumer stores them, then none; the lag each second',
  once: true,
  async start(bench) {
    const adapter = bench.config.KAFKA_CLIENT
    const contender = bench.contenders.find((each) => each.adapter === adapter)?.name ?? adapter
    // Above what any consumer stores: a warm consumer kept up with 1.5x consumer-drain's rate.
    const offered = Math.round(
      bench.measured('raw-produce', contender)?.figure.median ?? fallbackRate,
    )
    const prefix = await bench.prefixOf(adapter)
    const producer = await bench.producer(adapter)
    const admin = await bench.admin()
    let measured: { result: BufferingResult; peakMiB: number } | undefined
    return {
      async round() {
        bench.say(
          `  ${offered}/s offered for ${bench.seconds(seconds)} s, a ${contender} consumer storing`,
        )
        measured = await withProcess(
          bench.startApp({
            role: 'consumer',
            env: { KAFKA_CLIENT: adapter, KAFKA_NAME_PREFIX: prefix },
            output: bench.logFile('buffering-consumer'),
          }),
          () =>
            measureBuffering({
              producer,
              admin,
              topic: kafkaName(prefix, storePurchases.topic),
              group: kafkaName(prefix, storePurchases.group),
              ratePerSecond: offered,
              seconds: bench.seconds(seconds),
              seed: bench.options.seed + 500,
              drainBoundMs,
              say: bench.say,
            }),
        )
      },
      async finish() {
        if (!measured) return []
        const { result, peakMiB } = measured
        bench.keepRaw('buffering', { ...result, adapter })
        return [
          {
            id: 'buffering',
            variant: contender,
            measurement: `${offered.toLocaleString('en-US')}/s offered for ${bench.seconds(seconds)} s (raw-produce's rate), ${contender}: peak lag`,
            unit: 'events',
            figure: spread([result.peakLag]),
            detail:
              result.drainSeconds === undefined
                ? `not drained within ${drainBoundMs / 1000} s of the load's end`
                : `drained ${Math.round(result.drainSeconds)} s after the load stopped, ${Math.round(result.drainPerSecond ?? 0)} events/s`,
            timeline: {
              title: `Lag: ${offered.toLocaleString('en-US')}/s offered for ${Math.round(result.loadSeconds)} s, then none (${adapter} consumer)`,
              samples: result.samples,
              markAt: result.loadSeconds,
            },
          },
          {
            id: 'buffering-memory',
            variant: contender,
            measurement: `peak RSS of the consumer during buffering, ${contender}`,
            unit: 'MiB',
            figure: spread([peakMiB]),
          },
        ]
      },
    }
  },
})
