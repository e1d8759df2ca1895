import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import { eachContender, withProcess } from '../context.ts'
import { type FreshnessResult, measureFreshness } from '../freshness.ts'
import type { MeasuredRow } from '../report.ts'
import { type Spread, spread } from '../rounds.ts'
import { defineScenario } from '../scenario.ts'

const seconds = 12
const apiTarget = { op: '<=', value: 150 } as const

// A rate at which no tracked purchase came back has no latency: NaN in the table, not a crash.
const pick = (values: number[]): Spread => {
  const finite = values.filter((value) => Number.isFinite(value))
  return spread(finite.length > 0 ? finite : [Number.NaN])
}
const sum = (runs: FreshnessResult[], key: 'accepted' | 'offered' | 'missing') =>
  runs.reduce((total, run) => total + run[key], 0)

export default defineScenario({
  id: 'freshness',
  stage: 'freshness',
  title:
    'an API and a consumer per adapter; purchases offered open-loop at each rate; 202 to returned by GET',
  async start(bench) {
    const client = createElasticsearchClient(bench.config)
    bench.defer(() => client.close())
    const settings = await client.indices.getSettings({
      index: bench.config.ELASTICSEARCH_INDEX,
      include_defaults: true,
    })
    const index = Object.values(settings)[0]
    const refresh = String(
      index?.settings?.index?.refresh_interval ?? index?.defaults?.index?.refresh_interval ?? '1s',
    )
    const refreshIntervalMs = Number.parseFloat(refresh) * (refresh.endsWith('ms') ? 1 : 1000)
    const rates = bench.options['freshness-rates']
    const runs: (FreshnessResult & { adapter: string; round: number; apiPeakMiB: number })[] = []
    return {
      async round(round) {
        await eachContender(bench, async ({ adapter, name }) => {
          const env = { KAFKA_CLIENT: adapter, KAFKA_NAME_PREFIX: await bench.prefixOf(adapter) }
          const consumer = await bench.startApp({
            role: 'consumer',
            env,
            output: bench.logFile(`fresh-consumer-${adapter}`),
          })
          try {
            const api = bench.startApp({
              role: 'api',
              env,
              output: bench.logFile(`fresh-api-${adapter}`),
            })
            const { result, peakMiB } = await withProcess(api, async (app) => {
              const measured: FreshnessResult[] = []
              for (const rate of rates) {
                bench.say(`  ${name}: ${rate}/s offered open-loop for ${bench.seconds(seconds)} s`)
                const result = await measureFreshness({
                  apiUrl: app.url,
                  consumerUrl: consumer.url,
                  ratePerSecond: rate,
                  seconds: bench.seconds(seconds),
                  seed: bench.options.seed + 400 + round,
                  say: bench.say,
                })
                bench.say(
                  `  ${name} at ${rate}/s: 202 to returned p50 ${result.endToEnd.p50} ms, p99 ${result.endToEnd.p99} ms, ` +
                    `p99.9 ${result.endToEnd.p999} ms; ${result.accepted} of ${result.offered} accepted, ${result.missing} tracked never returned`,
                )
                measured.push(result)
              }
              return measured
            })
            for (const measured of result)
              runs.push({ ...measured, adapter, round, apiPeakMiB: peakMiB })
          } finally {
            await consumer.stop()
          }
        })
      },
      async finish() {
        bench.keepRaw('freshness', { refreshIntervalMs, runs })
        const target = { op: '<=', value: refreshIntervalMs + 500 } as const
        return bench.contenders.flatMap(({ adapter, name }): MeasuredRow[] => {
          const rows = rates.flatMap((rate): MeasuredRow[] => {
            const these = runs.filter(
              (run) => run.adapter === adapter && run.ratePerSecond === rate,
            )
            if (these.length === 0) return []
            const figures = {
              p50: pick(these.map((run) => run.endToEnd.p50)),
              p99: pick(these.map((run) => run.endToEnd.p99)),
              'p99.9': pick(these.map((run) => run.endToEnd.p999)),
            }
            const p50 = figures.p50.median
            const batch = pick(these.map((run) => run.batchMs)).median
            return [
              {
                id: 'freshness',
                variant: `${rate.toLocaleString('en-US')}/s ${name}`,
                measurement: `202 to returned by GET, ${rate.toLocaleString('en-US')}/s offered open-loop, ${name}: p99`,
                unit: 'ms',
                figure: figures.p99,
                figures,
                detail:
                  `p50 ${p50} ms, p99.9 ${figures['p99.9'].median} ms; ` +
                  `before it, produce (POST to 202) p50 ${pick(these.map((run) => run.produce.p50)).median} ms, p99 ${pick(these.map((run) => run.produce.p99)).median} ms; ` +
                  `of the p50: a batch's handling (parse + bulk write) ${Math.round(batch)} ms, refresh wait ~${refreshIntervalMs / 2} ms (half of ${refreshIntervalMs} ms), ` +
                  `consume and poll ~${Math.round(p50 - batch - refreshIntervalMs / 2)} ms (the rest); accepted ${sum(these, 'accepted')} of ${sum(these, 'offered')}, ` +
                  `${sum(these, 'missing')} tracked not returned`,
                ...(rate === 1_000 && { target }),
              },
            ]
          })
          const rss = runs.filter((run) => run.adapter === adapter).map((run) => run.apiPeakMiB)
          if (rss.length === 0) return rows
          return [
            ...rows,
            {
              id: 'freshness-api-memory',
              variant: name,
              measurement: `peak RSS of the API during freshness, ${name}`,
              unit: 'MiB',
              figure: spread(rss),
              target: apiTarget,
            },
          ]
        })
      },
    }
  },
})
