/** Strict mappings of a stored purchase: an unknown field is an error, never a new mapping. */
export const purchaseMappings = {
  dynamic: 'strict' as const,
  properties: {
    purchase_id: { type: 'keyword' as const },
    shop_id: { type: 'keyword' as const },
    timestamp: { type: 'date' as const },
    received_at: { type: 'date' as const },
    total_cents: { type: 'long' as const },
    scoop_count: { type: 'integer' as const },
    scoops: {
      type: 'nested' as const,
      properties: {
        type: { type: 'keyword' as const },
        quantity: { type: 'integer' as const },
        price: { type: 'long' as const },
        line_total_cents: { type: 'long' as const },
      },
    },
  },
}
