import { z } from 'zod'
import { defineRoute } from '../define.ts'
import { HttpError } from '../errors.ts'
import { PurchaseInput } from '../purchase.ts'

/** Purchases stamped further ahead than this are refused: a wrong clock, not a sale. */
const maxClockSkewMs = 24 * 60 * 60 * 1000

const Accepted = z
  .object({ purchase_id: z.uuid(), status: z.literal('accepted') })
  .meta({ id: 'PurchaseAccepted' })

export default defineRoute({
  method: 'post',
  path: '/purchases',
  summary: 'Record a purchase',
  description:
    'Validates the purchase and writes it to the purchases topic, keyed by `shop_id` so one ' +
    "shop's purchases keep their order. 202 means the event is durably in Kafka (acknowledged " +
    'by all in-sync replicas); it is stored for reading shortly after. Re-posting a ' +
    '`purchase_id` is safe: the stored purchase is replaced by the copy received last. ' +
    '503 means it was not acknowledged: retry after the `Retry-After` seconds. It comes within ' +
    "the API's publish deadline (`PUBLISH_TIMEOUT_MS`, 5 s by default), also when Kafka hangs " +
    'or has lost its quorum; the event may still have been written (a retry is then a ' +
    'harmless copy).',
  tags: ['purchases'],
  request: { body: PurchaseInput },
  responses: {
    202: { description: 'Durably queued.', schema: Accepted },
    422: { description: 'The purchase breaks the schema; `errors` lists every field path.' },
    503: {
      description:
        'Kafka did not acknowledge within the publish deadline (5 s by default), or failed just ' +
        'before; retry after `Retry-After` seconds.',
    },
  },
  handler: async ({ body }, { publish, clock }) => {
    const now = clock.now()
    if (Date.parse(body.timestamp) - now.getTime() > maxClockSkewMs) {
      throw new HttpError(422, 'Timestamp in the future', 'timestamp is more than a day ahead')
    }
    await publish('purchases', {
      key: body.shop_id,
      value: { ...body, received_at: now.toISOString() },
    })
    return { status: 202, body: { purchase_id: body.purchase_id, status: 'accepted' } }
  },
})
