import { defineRoute } from '../../handlers/define.ts'
import { type LivePorts, Snapshot } from '../ports.ts'

const latestPurchases = 8

/** A reading that failed (a dependency away) is null: the page shows the rest. */
async function orNull<T>(read: () => Promise<T>): Promise<T | null> {
  return read().catch(() => null)
}

export default defineRoute({
  method: 'get',
  path: '/live/snapshot',
  summary: 'What the live page shows, now',
  description:
    "The purchases topic per partition (log-end and the indexer group's committed offset), the " +
    "group's members and rebalances, documents stored, dead letters, the canary's freshness, " +
    "the API's p99 and the load generator. The page's stream sends one about every second.",
  tags: ['live page'],
  request: {},
  responses: { 200: { description: 'The snapshot.', schema: Snapshot } },
  handler: async (_input, { queue, totals, demo, clock }: LivePorts) => {
    const [partitions, members, rebalances, documents, deadLetters, latest] = await Promise.all([
      orNull(() => queue.partitions()),
      orNull(() => queue.members()),
      queue.rebalances(),
      orNull(() => totals.countPurchases()),
      orNull(() => queue.deadLetterCount()),
      orNull(() => totals.latestPurchases(latestPurchases)),
    ])
    return {
      status: 200,
      body: {
        at: clock.now().toISOString(),
        partitions,
        members,
        rebalances,
        documents,
        deadLetters,
        latestPurchases: latest,
        freshness: demo.freshness(),
        apiP99: demo.apiP99(),
        load: demo.load(),
      },
    }
  },
})
