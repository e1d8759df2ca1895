/**
 * JSON request bodies read strictly. `Request.json()` turns bytes that are not UTF-8 into U+FFFD
 * and `JSON.parse` keeps the last of repeated keys: both would store something the client did
 * not mean, so both are refused with a reason instead.
 */
import { tokenize } from '@humanwhocodes/momoa'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** application/json and application/*+json, parameters aside. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const essence = contentType?.split(';')[0]?.trim() ?? ''
  return /^application\/([\w.-]+\+)?json$/i.test(essence)
}

/** The first key repeated within one object, or undefined. `text` must be valid JSON. */
function repeatedKey(text: string): string | undefined {
  const tokens = tokenize(text, { ranges: true })
  // One entry per open object (its keys so far) or array (undefined).
  const open: (Set<string> | undefined)[] = []
  for (const [index, token] of tokens.entries()) {
    if (token.type === 'LBrace') open.push(new Set())
    else if (token.type === 'LBracket') open.push(undefined)
    else if (token.type === 'RBrace' || token.type === 'RBracket') open.pop()
    else if (token.type === 'String' && tokens[index + 1]?.type === 'Colon') {
      const keys = open.at(-1)
      const key: string = JSON.parse(text.slice(...(token.range as [number, number])))
      if (keys?.has(key)) return key
      keys?.add(key)
    }
  }
  return undefined
}

/** Whether the body is UTF-8 JSON without repeated keys, and if not, why. */
export function readStrictJson(bytes: Uint8Array): { ok: true } | { problem: string } {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return { problem: 'the body is not valid UTF-8' }
  }
  try {
    JSON.parse(text)
  } catch (error) {
    return { problem: `the body is not JSON: ${(error as Error).message}` }
  }
  const repeated = repeatedKey(text)
  if (repeated !== undefined)
    return { problem: `the key "${repeated}" appears twice in one object` }
  return { ok: true }
}
