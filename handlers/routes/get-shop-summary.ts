import { z } from 'zod'
import { CalendarDate, daysBetween, nextDay, startOfDay, TimeZone } from '../calendar.ts'
import { defineRoute } from '../define.ts'
import { HttpError } from '../errors.ts'
import { ShopSummary } from '../purchase.ts'

const maxRangeDays = 366

export default defineRoute({
  method: 'get',
  path: '/shops/{shop_id}/summary',
  summary: "A shop's purchases, scoops and revenue over a date range",
  description:
    'Totals, per flavour and per day, for the days `from` to `to` inclusive (at most ' +
    `${maxRangeDays} days), computed by Elasticsearch aggregations. Days are calendar days in ` +
    '`tz` (UTC unless given). Revenue is in cents.',
  tags: ['shops'],
  request: {
    params: z.object({ shop_id: z.uuid() }),
    query: z.object({ from: CalendarDate, to: CalendarDate, tz: TimeZone }),
  },
  responses: {
    200: { description: 'The summary.', schema: ShopSummary },
    422: { description: 'A parameter breaks the schema, or the range is empty or too long.' },
    503: { description: 'Elasticsearch is unreachable.' },
  },
  handler: async ({ params, query }, { store }) => {
    const days = daysBetween(query.from, query.to) + 1
    if (days < 1 || days > maxRangeDays) {
      throw new HttpError(
        422,
        'Invalid date range',
        `to must be on or after from, at most ${maxRangeDays} days in all`,
      )
    }
    const summary = await store.summarize({
      shopId: params.shop_id,
      from: startOfDay(query.from, query.tz),
      to: startOfDay(nextDay(query.to), query.tz),
      timeZone: query.tz,
    })
    return { status: 200, body: summary }
  },
})
