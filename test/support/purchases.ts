import { randomUUID } from 'node:crypto'

/** A valid purchase body; override any field. */
export function purchaseBody(overrides: Record<string, unknown> = {}) {
  return {
    shop_id: randomUUID(),
    purchase_id: randomUUID(),
    timestamp: '2021-12-30 12:00:00+00',
    scoops: [
      { type: 'vanilla', quantity: 2, price: 250 },
      { type: 'pistachio', quantity: 1, price: 300 },
    ],
    ...overrides,
  }
}
