import { createPurchaseGenerator } from '../../runtime/load/purchases.ts'
import { connections, loadHttp } from '../api-scenario.ts'
import { spread } from '../rounds.ts'
import { defineScenario } from '../scenario.ts'

export default defineScenario({
  id: 'bare-http',
  stage: 'throughput',
  title: 'a bare node:http server (bench/bare-http.ts) under the same load: the HTTP ceiling',
  // The API cannot outrun the bare server: this over raw-produce bounds what the API's can reach.
  ceilings: [{ of: 'raw-produce' }],
  async start(bench) {
    const server = await bench.startProcess({
      role: 'api',
      name: 'bare HTTP server',
      output: bench.logFile('bare-http'),
      entry: 'bench/bare-http.ts',
    })
    const inputs = createPurchaseGenerator({ seed: bench.options.seed + 200 })
    const rates: number[] = []
    return {
      async round() {
        const { perSecond } = await loadHttp(bench, server.url, inputs.next)
        rates.push(perSecond)
        bench.say(`  ${Math.round(perSecond)} 2xx/s`)
      },
      async finish() {
        await server.stop()
        return [
          {
            id: 'bare-http',
            measurement: `bare node:http server (reads the body, answers 202), ${connections} connections`,
            unit: 'req/s',
            figure: spread(rates),
          },
        ]
      },
    }
  },
})
