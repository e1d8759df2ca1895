import type { estypes } from '@elastic/elasticsearch'

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
