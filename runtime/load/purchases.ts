/**
 * Realistic purchases from a seed: many shops, flavours by popularity, prices by flavour. The same
 * seed gives the same shops and the same purchases, so a fault run, a bench dataset or a page's
 * load can be told again. Used by the fault suite, the bench and the live page's load generator.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { PurchaseInput } from '../../handlers/purchase.ts'

/** Flavour, relative popularity, price of one scoop in cents. */
const flavours = [
  ['vanilla', 20, 250],
  ['chocolate', 18, 250],
  ['strawberry', 12, 250],
  ['pistachio', 9, 300],
  ['hazelnut', 8, 300],
  ['salted caramel', 8, 320],
  ['mango', 6, 280],
  ['lemon sorbet', 6, 230],
  ['stracciatella', 5, 280],
  ['cookies & cream', 5, 300],
  ['raspberry sorbet', 2, 230],
  ['matcha', 1, 350],
] as const
const totalWeight = flavours.reduce((sum, [, weight]) => sum + weight, 0)
const dayMs = 24 * 3600 * 1000

export interface PurchaseGeneratorOptions {
  seed: number
  /** Distinct shops (keys): 1,000 spreads them over every partition, as real traffic would. */
  shops?: number
  /**
   * Timestamps fall in the `days` days before `now` (a dataset); left out, each purchase is
   * stamped with the current time (live load).
   */
  days?: number
  now?: Date
}

export interface PurchaseGenerator {
  readonly shops: readonly string[]
  next(): PurchaseInput
}

export function createPurchaseGenerator(options: PurchaseGeneratorOptions): PurchaseGenerator {
  const rng = xoroshiro128plus(options.seed)
  const int = (from: number, to: number) => uniformInt(rng, from, to)
  const hex = (digits: number) =>
    Array.from({ length: digits }, () => int(0, 15).toString(16)).join('')
  /** A version 4 UUID drawn from the generator, so shops and purchase ids repeat with the seed. */
  const uuid = () =>
    `${hex(8)}-${hex(4)}-4${hex(3)}-${(8 + int(0, 3)).toString(16)}${hex(3)}-${hex(12)}`
  const shops = Array.from({ length: options.shops ?? 1_000 }, uuid)
  const flavour = () => {
    let ticket = int(1, totalWeight)
    for (const entry of flavours) {
      ticket -= entry[1]
      if (ticket <= 0) return entry
    }
    return flavours[0]
  }
  const timestamp = () => {
    if (options.days === undefined) return new Date().toISOString()
    const end = (options.now ?? new Date()).getTime()
    return new Date(end - int(0, options.days * dayMs - 1)).toISOString()
  }
  return {
    shops,
    next: () => ({
      shop_id: shops[int(0, shops.length - 1)] as string,
      purchase_id: uuid(),
      timestamp: timestamp(),
      scoops: Array.from({ length: int(1, 3) }, () => {
        const [type, , price] = flavour()
        return { type, quantity: int(1, 4), price }
      }),
    }),
  }
}
