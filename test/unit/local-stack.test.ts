import { expect, test } from 'vitest'
import { newClusterId } from '../../scripts/local-stack/kafka.ts'

test("a new Kafka cluster id never starts with '-' (the storage tool would take it for an option)", () => {
  // About one id in 64 would start with '-' if drawn naively; 5,000 draws make a miss unlikely.
  const ids = Array.from({ length: 5_000 }, newClusterId)
  expect(ids.filter((id) => id.startsWith('-'))).toEqual([])
  expect(ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id))).toBe(true)
  expect(new Set(ids).size).toBe(ids.length)
})
