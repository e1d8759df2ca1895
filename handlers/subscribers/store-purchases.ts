import { defineSubscriber } from '../define.ts'
import { PurchaseEvent, toPurchase } from '../purchase.ts'

/**
 * Stores each batch of purchase events in one bulk write. The purchase id is the document id,
 * so a redelivered event replaces its own copy instead of adding a second one.
 */
export default defineSubscriber({
  topic: 'purchases',
  group: 'purchases-indexer',
  deadLetter: 'purchases.dead-letter',
  schema: PurchaseEvent,
  handle: async (events, { store }) => store.savePurchases(events.map(toPurchase)),
})
