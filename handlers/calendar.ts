/** Calendar days in a time zone, as UTC instants (Temporal handles the DST edges). */
import { z } from 'zod'

function isTimeZone(name: string): boolean {
  try {
    Temporal.Now.zonedDateTimeISO(name)
    return true
  } catch {
    return false
  }
}

export const TimeZone = z
  .string()
  .max(64)
  .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Amsterdam')
  .default('UTC')
  .meta({ description: 'IANA time zone that defines where days start and end.', example: 'UTC' })

export const CalendarDate = z.iso.date().meta({ example: '2021-12-30' })

/** The instant a calendar day starts in a time zone, RFC 3339 in UTC. */
export function startOfDay(date: string, timeZone: string): string {
  return Temporal.PlainDate.from(date).toZonedDateTime(timeZone).toInstant().toString()
}

export function nextDay(date: string): string {
  return Temporal.PlainDate.from(date).add({ days: 1 }).toString()
}

export function daysBetween(from: string, to: string): number {
  return Temporal.PlainDate.from(from).until(Temporal.PlainDate.from(to)).days
}
