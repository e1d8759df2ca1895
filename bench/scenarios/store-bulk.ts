import { toPurchase } from '../../handlers/purchase.ts'
import {
  createElasticsearchClient,
  createElasticsearchStore,
} from '../../runtime/elasticsearch/store.ts'
import { createPurchaseGenerator } from '../../runtime/load/purchases.ts'
import { bulkCeiling, freshEvents } from '../measure.ts'
import { spread } from '../rounds.ts'
import { defineScenario } from '../scenario.ts'

const chunk = 1_000
const boundMs = 120_000

export default defineScenario({
  id: 'store-bulk',
  stage: 'throughput',
  title: `the store's own bulk write (store.savePurchases), sequential chunks of ${chunk}: the consumer's ceiling`,
  indices: ['bulk'],
  async start(bench) {
    const store = createElasticsearchStore(
      createElasticsearchClient(bench.config),
      bench.index('bulk'),
    )
    bench.defer(() => store.close())
    await store.setup()
    const source = createPurchaseGenerator({ seed: bench.options.seed + 300, days: 90 })
    const rates: number[] = []
    return {
      async round(round) {
        const documents = freshEvents(source, bench.options.messages).map(toPurchase)
        const result = await bulkCeiling(store, documents, chunk, boundMs, bench.say)
        if (result.cutShort) bench.note(`Round ${round}: store-bulk hit its time bound.`)
        rates.push(result.perSecond)
        bench.say(`  ${Math.round(result.perSecond)} docs/s`)
      },
      async finish() {
        return [
          {
            id: 'store-bulk',
            measurement: `store bulk write, ${bench.options.messages} docs in sequential chunks of ${chunk}`,
            unit: 'docs/s',
            figure: spread(rates),
          },
        ]
      },
    }
  },
})
