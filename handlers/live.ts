/** What the live page's routes share: its schemas and the limits of its controls. */
import { z } from 'zod'

/** A dead letter redriven this many times is not put back again: it cannot loop for ever. */
export const maxReplays = 3

export const LoadStatus = z
  .object({
    running: z.boolean(),
    ratePerSecond: z.number(),
    sent: z.number(),
    accepted: z.number(),
    endsAt: z.string().nullable(),
  })
  .meta({ id: 'LoadStatus' })

export const DeadLetter = z
  .object({
    offset: z.string(),
    key: z.string().nullable(),
    value: z.string(),
    reason: z.string(),
    failedAt: z.string(),
    origin: z.object({ topic: z.string(), partition: z.number(), offset: z.string() }),
    replays: z.number(),
  })
  .meta({ id: 'DeadLetter' })

export const Sent = z
  .object({ status: z.literal('sent'), watch: z.string() })
  .meta({ id: 'ControlSent' })
