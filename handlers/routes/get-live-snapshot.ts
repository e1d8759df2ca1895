import { z } from 'zod'
import { defineRoute } from '../define.ts'
import { LoadStatus } from '../live.ts'
import { Purchase } from '../purchase.ts'

const latestPurchases = 8

/** A reading that failed (a dependency away) is null: the page shows the rest. */
async function orNull<T>(read: () => Promise<T>): Promise<T | null> {
  return read().catch(() => null)
}

const Snapshot = z
  .object({
    at: z.string(),
    partitions: z
      .array(
        z.object({
          partition: z.number(),
          end: z.number(),
          committed: z.number(),
          oldestWaitingSince: z.string().nullable(),
        }),
      )
      .nullable(),
    members: z
      .array(
        z.object({
          id: z.string(),
          clientId: z.string(),
          host: z.string(),
          partitions: z.array(z.number()),
        }),
      )
      .nullable(),
    rebalances: z.array(
      z.object({
        at: z.string(),
        members: z.number(),
        moved: z.number(),
        unownedMs: z.number(),
        readingsApartMs: z.number(),
      }),
    ),
    documents: z.number().nullable(),
    deadLetters: z.number().nullable(),
    latestPurchases: z.array(Purchase).nullable(),
    freshness: z.object({
      p50: z.number().nullable(),
      p99: z.number().nullable(),
      samples: z.number(),
    }),
    apiP99: z.number().nullable(),
    load: LoadStatus,
  })
  .meta({ id: 'LiveSnapshot' })

export default defineRoute({
  method: 'get',
  path: '/live/snapshot',
  summary: 'What the live page shows, now',
  description:
    "The purchases topic per partition (log-end and the indexer group's committed offset), the " +
    "group's members and rebalances, documents stored, dead letters, the canary's freshness, " +
    "the API's p99 and the load generator. The page's stream sends one about every second.",
  tags: ['live page'],
  access: 'live',
  request: {},
  responses: { 200: { description: 'The snapshot.', schema: Snapshot } },
  handler: async (_input, { queue, store, demo, clock }) => {
    const [partitions, members, rebalances, documents, deadLetters, latest] = await Promise.all([
      orNull(() => queue.partitions()),
      orNull(() => queue.members()),
      queue.rebalances(),
      orNull(() => store.countPurchases()),
      orNull(() => queue.deadLetterCount()),
      orNull(() => store.latestPurchases(latestPurchases)),
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
