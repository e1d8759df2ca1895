import { expect, test } from 'vitest'
import { isJsonMediaType, readStrictJson } from '../../runtime/http/strict-json.ts'

const bytes = (text: string) => new TextEncoder().encode(text)

test.each([
  ['{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}', { ok: true }],
  ['{"a":1,"a":2}', { problem: 'the key "a" appears twice in one object' }],
  ['[{"x":{"b":1,"b":2}}]', { problem: 'the key "b" appears twice in one object' }],
  // The same key once escaped: still one key.
  ['{"a":1,"\\u0061":2}', { problem: 'the key "a" appears twice in one object' }],
  ['{"a":', { problem: expect.stringMatching(/^the body is not JSON: /) }],
])('%s', (text, expected) => {
  expect(readStrictJson(bytes(text))).toEqual(expected)
})

test('bytes that are not UTF-8 are refused, not replaced', () => {
  expect(readStrictJson(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).toEqual({
    problem: 'the body is not valid UTF-8',
  })
})

test('deep nesting is read without a stack overflow', () => {
  expect(readStrictJson(bytes(`${'['.repeat(30_000)}${']'.repeat(30_000)}`))).toEqual({ ok: true })
})

test.each([
  ['application/json', true],
  ['application/json; charset=utf-8', true],
  ['application/problem+json', true],
  ['text/plain', false],
  [undefined, false],
])('%s is JSON: %s', (contentType, json) => {
  expect(isJsonMediaType(contentType)).toBe(json)
})
