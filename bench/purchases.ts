/** Purchase-shaped test data: valid for the API's schema and the index's strict mappings. */
import { randomUUID } from 'node:crypto'
import type { PurchaseEvent } from '../handlers/purchase.ts'

const flavours = ['vanilla', 'chocolate', 'strawberry', 'pistachio', 'lemon', 'hazelnut', 'mango']
// A few hundred shops spread the keys over every partition, as real traffic would.
const shops = Array.from({ length: 200 }, () => randomUUID())
const ninetyDaysMs = 90 * 24 * 3600 * 1000

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T

/** What a shop POSTs, with a fresh purchase id. */
export function purchaseInput(): Omit<PurchaseEvent, 'received_at'> {
  return {
    shop_id: pick(shops),
    purchase_id: randomUUID(),
    timestamp: new Date(Date.now() - Math.random() * ninetyDaysMs).toISOString(),
    scoops: Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => ({
      type: pick(flavours),
      quantity: 1 + Math.floor(Math.random() * 4),
      price: 150 + 50 * Math.floor(Math.random() * 5),
    })),
  }
}

/** What the API puts on the topic for such a POST. */
export function purchaseEvent(): PurchaseEvent {
  return { ...purchaseInput(), received_at: new Date().toISOString() }
}
