import { defineSubscriber } from '../define.ts'
import { PurchaseEvent, toDocument } from '../purchase.ts'

/**
 * Stores each batch of purchase events in one bulk write. The purchase id is the document id,
 * so a redelivered event replaces its own copy instead of adding a second one.
 */
export default defineSubscriber({
  topic: 'purchases',
  schema: PurchaseEvent,
  maxAttempts: 3,
  handle: async (events, { store }) => store.savePurchases(events.map(toDocument)),
})
