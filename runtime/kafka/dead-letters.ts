/**
 * Dead letters that the dead-letter topic always takes. Kafka's `max.message.bytes` limits a
 * whole record batch, and a producer puts every message of one send for a partition into one
 * batch: so the letters are cut into sends that each fit, and a letter too large on its own keeps
 * its headers (reason, origin, attempts) while its value is cut and marked as cut.
 */
import type { TopicDeclaration } from '../../handlers/topics.ts'
import { chunkBy } from '../chunks.ts'
import type { OutgoingMessage } from './client.ts'

/** Kafka's default `max.message.bytes`, for a topic that declares none. */
export const kafkaDefaultMaxMessageBytes = 1_048_588

/** The record batch's own fields (61 bytes in format v2), with room to spare. */
const batchOverheadBytes = 128
/** A record's length, attributes, timestamp and offset deltas, key, value and header counts. */
const recordOverheadBytes = 64
/** A header's two length varints. */
const headerOverheadBytes = 10

/** The limit a declared topic's broker enforces on one record batch. */
export function maxBatchBytes(topic: TopicDeclaration): number {
  return Number(topic.config['max.message.bytes'] ?? kafkaDefaultMaxMessageBytes)
}

const byteLength = (text: string | Buffer) =>
  typeof text === 'string' ? Buffer.byteLength(text) : text.length

/** An upper bound of the bytes `message` takes in a record batch (no compression). */
export function recordBytes(message: OutgoingMessage): number {
  let bytes = recordOverheadBytes + byteLength(message.key ?? '') + byteLength(message.value)
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += headerOverheadBytes + byteLength(name) + byteLength(value)
  }
  return bytes
}

/**
 * The letter as it fits in a batch of `limitBytes` on its own: unchanged when it does; else its
 * value cut to what fits, with headers saying it was cut and how large it was.
 */
export function fitLetter(letter: OutgoingMessage, limitBytes: number): OutgoingMessage {
  const budget = limitBytes - batchOverheadBytes
  if (recordBytes(letter) <= budget) return letter
  const valueBytes = byteLength(letter.value)
  const marked: OutgoingMessage = {
    ...letter,
    value: Buffer.alloc(0),
    headers: {
      ...letter.headers,
      'dead-letter.value-truncated': 'true',
      'dead-letter.value-bytes': String(valueBytes),
    },
  }
  const room = Math.max(0, budget - recordBytes(marked))
  const value = typeof letter.value === 'string' ? Buffer.from(letter.value) : letter.value
  return { ...marked, value: value.subarray(0, room) }
}

/** Cuts letters (each already fitted) into sends whose record batches stay within `limitBytes`. */
export function cutIntoSends(letters: OutgoingMessage[], limitBytes: number): OutgoingMessage[][] {
  return chunkBy(letters, { maxBytes: limitBytes - batchOverheadBytes, sizeOf: recordBytes })
}
