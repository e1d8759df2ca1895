import { endToEndLatency, type Percentiles } from '../measure.ts'
import { spread } from '../rounds.ts'
import { defineScenario } from '../scenario.ts'

const count = 1_000
const recordBytes = 283
const boundMs = 120_000

export default defineScenario({
  id: 'kafka-end-to-end',
  stage: 'freshness',
  title: `Kafka's own EndToEndLatency (Java): ${count} messages one at a time, acks=all: the floor of the Kafka part`,
  topics: [{ name: 'java-latency', partitions: 1 }],
  async start(bench) {
    const rounds: Percentiles[] = []
    return {
      async round(round) {
        await endToEndLatency(
          bench.stack,
          bench.topic('java-latency'),
          count,
          recordBytes,
          bench.logsDir,
          boundMs,
          bench.say,
        ).then(
          (latency) => rounds.push(latency),
          (error: unknown) => {
            bench.say(`  failed: ${String(error)}`)
            bench.note(
              `EndToEndLatency did not run in round ${round}: ${String(error).split('\n')[0]}`,
            )
          },
        )
      },
      async finish() {
        if (rounds.length === 0) return []
        bench.keepRaw('kafka-end-to-end', rounds)
        const p = (key: keyof Percentiles) => spread(rounds.map((latency) => latency[key]))
        return [
          {
            id: 'kafka-end-to-end',
            measurement: `Kafka's EndToEndLatency (Java), ${count} msgs one at a time, acks=all: p99`,
            unit: 'ms',
            figure: p('p99'),
            figures: { p50: p('p50'), p99: p('p99'), 'p99.9': p('p999') },
            detail: `p50 ${p('p50').median} ms, p99.9 ${p('p999').median} ms`,
          },
        ]
      },
    }
  },
})
