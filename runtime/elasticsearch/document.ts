/**
 * The stored form of a purchase, known to this layer alone. `scoop_count` and each scoop's
 * `line_total_cents` exist only so Elasticsearch's aggregations can sum them (a SQL store would
 * compute them in its query), so they are added on the way in and dropped on the way out:
 * handlers and the in-memory store deal in `Purchase` only.
 */
import type { estypes } from '@elastic/elasticsearch'
import type { Purchase } from '../../handlers/purchase.ts'

export interface PurchaseDocument extends Purchase {
  scoop_count: number
  scoops: (Purchase['scoops'][number] & { line_total_cents: number })[]
}

/** Strict mappings of a stored purchase: an unknown field is an error, never a new mapping. */
export const purchaseMappings = {
  dynamic: 'strict',
  properties: {
    purchase_id: { type: 'keyword' },
    shop_id: { type: 'keyword' },
    timestamp: { type: 'date' },
    received_at: { type: 'date' },
    total_cents: { type: 'long' },
    scoop_count: { type: 'integer' },
    scoops: {
      type: 'nested',
      properties: {
        type: { type: 'keyword' },
        quantity: { type: 'integer' },
        price: { type: 'long' },
        line_total_cents: { type: 'long' },
      },
    },
  },
} satisfies estypes.MappingTypeMapping

export function toDocument(purchase: Purchase): PurchaseDocument {
  const scoops = purchase.scoops.map((scoop) => ({
    ...scoop,
    line_total_cents: scoop.quantity * scoop.price,
  }))
  return {
    ...purchase,
    scoops,
    scoop_count: scoops.reduce((sum, scoop) => sum + scoop.quantity, 0),
  }
}

export function fromDocument({ scoop_count: _, scoops, ...purchase }: PurchaseDocument): Purchase {
  return {
    ...purchase,
    scoops: scoops.map(({ type, quantity, price }) => ({ type, quantity, price })),
  }
}
