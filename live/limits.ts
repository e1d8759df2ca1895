/**
 * The limits the live page's server and its browser page share, as plain values: the page's
 * bundle takes them without zod (live/ports.ts is zod, and the page imports only its types).
 */

/** A dead letter redriven this many times is not put back again: it cannot loop for ever. */
export const maxReplays = 3

/** Members a consumer process adds to its group on the `add` command, at most. */
export const maxExtraMembers = 3

/** The load generator's bounds (the page's inputs carry the same). */
export const maxLoadRatePerSecond = 2_000
export const maxLoadSeconds = 600
