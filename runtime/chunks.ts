/**
 * Cuts items, in order, into chunks of at most `maxItems` items and `maxBytes` bytes (by
 * `sizeOf`). An item larger than `maxBytes` alone gets a chunk of its own; no chunk is empty.
 */
export function chunkBy<T>(
  items: T[],
  {
    maxItems = Infinity,
    maxBytes,
    sizeOf,
  }: {
    maxItems?: number
    maxBytes: number
    sizeOf(item: T): number
  },
): T[][] {
  const chunks: T[][] = []
  let current: T[] = []
  let bytes = 0
  for (const item of items) {
    const size = sizeOf(item)
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      chunks.push(current)
      current = []
      bytes = 0
    }
    current.push(item)
    bytes += size
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}
