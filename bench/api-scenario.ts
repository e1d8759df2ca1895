/**
 * The HTTP rows: autocannon against the bare server or the API, 64 keep-alive connections, a
 * 2 s warm-up, then the measured seconds; each POST a fresh seeded purchase. `apiScenario` is
 * an API row family: one API process per contender, started once, loaded each round.
 */
import { createPurchaseGenerator } from '../runtime/load/purchases.ts'
import type { AppProcess } from '../scripts/local-stack/harness.ts'
import { type Bench, eachContender } from './context.ts'
import { type LoadResult, loadApi } from './measure.ts'
import { watchMemory } from './memory.ts'
import type { Ceiling, MeasuredRow, Target } from './report.ts'
import { spread } from './rounds.ts'
import { defineScenario, type Scenario } from './scenario.ts'

export const connections = 64
const loadSeconds = 10
const warmUpSeconds = 2

/** One measurement of `url` under the load, after its warm-up. */
export async function loadHttp(
  bench: Bench,
  url: string,
  next: ReturnType<typeof createPurchaseGenerator>['next'],
): Promise<LoadResult> {
  await loadApi(url, connections, warmUpSeconds, next, () => {})
  return loadApi(url, connections, bench.seconds(loadSeconds), next, bench.say)
}

export function apiScenario(spec: {
  id: string
  title: string
  /** The rows' measurement, before the adapter's name. */
  label: string
  /** The API's variables over the chart's defaults. */
  env: Record<string, string>
  seed: number
  ceilings: Ceiling[]
  /** Also a row of each process's peak RSS through the rounds (`<id>-memory`). */
  memory?: { measurement: string; target: Target }
}): Scenario {
  return defineScenario({
    id: spec.id,
    stage: 'throughput',
    title: spec.title,
    ceilings: spec.ceilings,
    async start(bench) {
      const inputs = createPurchaseGenerator({ seed: bench.options.seed + spec.seed })
      const apis: AppProcess[] = await eachContender(bench, ({ adapter }) =>
        bench.startApp({
          role: 'api',
          name: `${spec.id} ${adapter}`,
          env: { KAFKA_CLIENT: adapter, ...spec.env },
          output: bench.logFile(`${spec.id}-${adapter}`),
        }),
      )
      const memory = apis.map((api) => watchMemory(api.pid))
      const figures = apis.map(() => ({
        rate: [] as number[],
        p50: [] as number[],
        p99: [] as number[],
        refused: 0,
      }))
      return {
        async round(round) {
          await eachContender(bench, async ({ name }, at) => {
            const result = await loadHttp(bench, (apis[at] as AppProcess).url, inputs.next)
            const these = figures[at] as (typeof figures)[number]
            these.rate.push(result.perSecond)
            these.p50.push(result.p50)
            these.p99.push(result.p99)
            these.refused += result.non2xx + result.errors
            bench.say(
              `  ${name}: ${Math.round(result.perSecond)} 2xx/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.non2xx} non-2xx, ${result.errors} errors`,
            )
            if (result.non2xx > 0 || result.errors > 0) {
              bench.note(
                `Round ${round}: ${spec.id} with ${name} answered ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodes)}) and had ${result.errors} connection errors or timeouts; see ${bench.logFile(`${spec.id}-${bench.contenders[at]?.adapter}`)}.`,
              )
            }
          })
        },
        async finish() {
          const peaks = await Promise.all(memory.map((watch) => watch.stop()))
          await Promise.all(apis.map((api) => api.stop()))
          const rows = bench.contenders.map(({ name }, at): MeasuredRow => {
            const these = figures[at] as (typeof figures)[number]
            return {
              id: spec.id,
              variant: name,
              measurement: `${spec.label}, ${name}, ${connections} connections`,
              unit: '2xx req/s',
              figure: spread(these.rate),
              detail: `p50 ${spread(these.p50).median} ms, p99 ${spread(these.p99).median} ms, ${these.refused} non-2xx or errors`,
            }
          })
          const { memory: rss } = spec
          if (!rss) return rows
          return [
            ...rows,
            ...bench.contenders.map(({ name }, at) => ({
              id: `${spec.id}-memory`,
              variant: name,
              measurement: `${rss.measurement}, ${name}`,
              unit: 'MiB',
              figure: spread([peaks[at] ?? 0]),
              target: rss.target,
            })),
          ]
        },
      }
    },
  })
}
