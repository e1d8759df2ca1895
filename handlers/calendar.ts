/** Calendar days in a time zone, as UTC instants (Temporal handles the DST edges). */
import { z } from 'zod'

/**
 * The canonical IANA names, as a closed list: the OpenAPI document names every one, so a client
 * (or a fuzzer) knows exactly which are taken. Aliases and bare offsets are not.
 */
const timeZoneNames = [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])] as [
  string,
  ...string[],
]

export const TimeZone = z
  .enum(timeZoneNames, { error: 'must be an IANA time zone such as UTC or Europe/Amsterdam' })
  .default('UTC')
  .meta({ description: 'IANA time zone that defines where days start and end.', example: 'UTC' })

/**
 * A day from 2000-01-01 to 2099-12-31 (purchases are dated within it), as a regular expression
 * a generator can read: each month's length, and 29 February in the leap years (2000 is one).
 */
export const datePattern =
  '20(?:\\d\\d-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))|(?:[02468][048]|[13579][26])-02-29)'

export const CalendarDate = z
  .string()
  .regex(new RegExp(`^${datePattern}$`), 'must be a date from 2000-01-01 to 2099-12-31')
  .meta({ example: '2021-12-30' })

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
