import { z } from 'zod'
import { CalendarDate, nextDay, startOfDay, TimeZone } from '../calendar.ts'
import { defineRoute } from '../define.ts'
import type { PurchasePosition } from '../ports.ts'
import { Purchase } from '../purchase.ts'

/**
 * Where a page ended: the last purchase's time (epoch milliseconds) and id. Its whole format is
 * in the pattern, so any cursor the schema admits is one the store can continue from.
 */
const cursorPattern =
  /^(\d{1,15})_([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/

function encodeCursor(position: PurchasePosition): string {
  return `${Date.parse(position.timestamp)}_${position.purchaseId}`
}

function decodeCursor(cursor: string): PurchasePosition {
  const [, epochMs, purchaseId] = cursor.match(cursorPattern) ?? []
  return { timestamp: new Date(Number(epochMs)).toISOString(), purchaseId: purchaseId ?? '' }
}

const PurchasePage = z
  .object({
    shop_id: z.uuid(),
    date: z.iso.date(),
    time_zone: z.string(),
    from: z.iso.datetime().meta({ description: 'Start of the day (inclusive), UTC.' }),
    to: z.iso.datetime().meta({ description: 'End of the day (exclusive), UTC.' }),
    purchases: z.array(Purchase),
    next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page.' }),
  })
  .meta({ id: 'PurchasePage' })

export default defineRoute({
  method: 'get',
  path: '/purchases/{shop_id}',
  summary: "A shop's purchases on one day",
  description:
    "Returns the shop's purchases whose `timestamp` falls on `date`, oldest first (ties by " +
    '`purchase_id`). The day runs from 00:00 inclusive to the next 00:00 exclusive in `tz` ' +
    '(UTC unless given), so a day can be 23 or 25 hours long across a DST change. Large days ' +
    'come in pages: follow `next_cursor` until it is null.',
  tags: ['purchases'],
  request: {
    params: z.object({ shop_id: z.uuid() }),
    query: z.object({
      date: CalendarDate,
      tz: TimeZone,
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z
        .string()
        .regex(cursorPattern, 'must be the next_cursor of a previous page')
        .optional()
        .meta({ description: 'The `next_cursor` of the previous page.' }),
    }),
  },
  responses: {
    200: { description: 'One page of purchases.', schema: PurchasePage },
    422: { description: 'A parameter breaks the schema.' },
    503: { description: 'Elasticsearch is unreachable.' },
  },
  handler: async ({ params, query }, { store }) => {
    const from = startOfDay(query.date, query.tz)
    const to = startOfDay(nextDay(query.date), query.tz)
    const found = await store.findPurchases({
      shopId: params.shop_id,
      from,
      to,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      limit: query.limit + 1,
    })
    const purchases = found.slice(0, query.limit)
    const last = purchases.at(-1)
    const hasMore = found.length > query.limit && last !== undefined
    return {
      status: 200,
      body: {
        shop_id: params.shop_id,
        date: query.date,
        time_zone: query.tz,
        from,
        to,
        purchases,
        next_cursor: hasMore
          ? encodeCursor({ timestamp: last.timestamp, purchaseId: last.purchase_id })
          : null,
      },
    }
  },
})
