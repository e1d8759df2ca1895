/** The purchase event and the shapes derived from it, shared by routes and subscribers. */
import { z } from 'zod'
import { datePattern } from './calendar.ts'

export const limits = {
  scoopsPerPurchase: 100,
  quantityPerScoop: 1_000,
  /** 10,000.00 in cents: far above any real scoop, low enough to keep totals exact. */
  priceCents: 1_000_000,
  flavourLength: 64,
} as const

/**
 * RFC 3339 with an offset, and the original `2021-12-30 12:00:00+00` form (space, short offset),
 * dated 2000-2099 where it was written: the whole rule is in the pattern, so the OpenAPI document
 * states exactly what is taken.
 */
const timestampPattern = new RegExp(
  `^${datePattern}[Tt ](?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,9})?(?:[Zz]|[+-](?:[01]\\d|2[0-3])(?::?[0-5]\\d)?)$`,
)

/** Accepts both timestamp forms and normalises them to RFC 3339 in UTC with milliseconds. */
export const Timestamp = z
  .string()
  .regex(timestampPattern, 'must be RFC 3339 with an offset, e.g. 2021-12-30T12:00:00+00:00')
  .transform((value) => {
    const rfc3339 = value
      .replace(' ', 'T')
      .replace(/([+-]\d{2})(\d{2})?$/, (_, h, m) => `${h}:${m ?? '00'}`)
    return new Date(Temporal.Instant.from(rfc3339).epochMilliseconds).toISOString()
  })
  .meta({ example: '2021-12-30T12:00:00+00:00' })

/** Control characters (Unicode Cc), spelled out so that any regular-expression engine reads it. */
const control = '\\x00-\\x1f\\x7f-\\x9f'
/** What JavaScript's trim() removes (beyond the control characters). */
const space = ' \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff'
/** 1 to 64 characters (code points, as JSON Schema counts them, not UTF-16 units as .max would). */
const flavourPattern = new RegExp(
  `^[^${control}${space}](?:[^${control}]{0,${limits.flavourLength - 2}}[^${control}${space}])?$`,
  'u',
)

export const Scoop = z
  .object({
    type: z
      .string()
      .regex(
        flavourPattern,
        `must be 1 to ${limits.flavourLength} characters, no control characters, no space at either end`,
      )
      // Stated again: the OpenAPI generator writes a flagged pattern with its `/u` attached.
      .meta({ description: 'Flavour name.', example: 'vanilla', pattern: flavourPattern.source }),
    quantity: z
      .int()
      .min(1)
      .max(limits.quantityPerScoop)
      .meta({ description: 'Number of scoops of this flavour.', example: 2 }),
    price: z
      .int()
      .min(0)
      .max(limits.priceCents)
      .meta({ description: 'Price of one scoop in cents.', example: 250 }),
  })
  .strict()
  .meta({ id: 'Scoop' })

export const PurchaseInput = z
  .object({
    shop_id: z.uuid().meta({ example: '7b0d8b4e-8f6a-4a63-9c36-3f1f5bb1e1a1' }),
    purchase_id: z.uuid().meta({
      description: 'Chosen by the shop; re-posting the same id replaces the stored purchase.',
      example: 'f3c8a0a2-3b7e-4d1c-9a55-2e6f1c9b0d42',
    }),
    timestamp: Timestamp,
    scoops: z.array(Scoop).min(1).max(limits.scoopsPerPurchase),
  })
  .strict()
  .meta({ id: 'PurchaseInput' })

/** What travels on the purchases topic: the validated purchase and when the API received it. */
export const PurchaseEvent = z
  .object({
    shop_id: z.uuid(),
    purchase_id: z.uuid(),
    timestamp: z.iso.datetime({ offset: true }),
    received_at: z.iso.datetime({ offset: true }),
    scoops: z.array(Scoop).min(1).max(limits.scoopsPerPurchase),
  })
  .strict()

export const Purchase = PurchaseEvent.extend({
  total_cents: z.int().meta({ description: 'Sum of quantity x price over the scoops.' }),
}).meta({ id: 'Purchase' })

/** What a shop POSTs (timestamps in either accepted form). */
export type PurchaseInput = z.input<typeof PurchaseInput>
export type PurchaseEvent = z.output<typeof PurchaseEvent>
export type Purchase = z.output<typeof Purchase>

/** The purchase as stored and read back: the event with its total. */
export function toPurchase(event: PurchaseEvent): Purchase {
  return {
    ...event,
    total_cents: event.scoops.reduce((sum, scoop) => sum + scoop.quantity * scoop.price, 0),
  }
}

const Totals = z.object({
  purchases: z.int(),
  scoops: z.int(),
  revenue_cents: z.int(),
})

export const ShopSummary = Totals.extend({
  by_flavour: z.array(Totals.extend({ type: z.string() })),
  by_day: z.array(Totals.extend({ date: z.iso.date() })),
}).meta({ id: 'ShopSummary' })

export type ShopSummary = z.output<typeof ShopSummary>
