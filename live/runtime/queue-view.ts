/**
 * The QueueView port on Kafka: the indexer group's offsets and members, its rebalances, and the
 * dead letters, for the live page. Rebalances and the age of the oldest waiting event are
 * inferred from what each reading saw (the page reads about once a second), kept in memory.
 */
import type { Admin, Consumer, IncomingMessage, KafkaClient } from '../../runtime/kafka/client.ts'
import { kafkaName, processGroup } from '../../runtime/kafka/topics.ts'
import type { AppLogger } from '../../runtime/logger.ts'
import { retry, untilStopped } from '../../runtime/retry.ts'
import type { DeadLetter, GroupMember, QueueView, Rebalance } from '../ports.ts'

export interface QueueViewOptions {
  namePrefix: string
  /** The subscriber the page watches: its topic, group and dead-letter topic (declared names). */
  topic: string
  group: string
  deadLetter: string
}

const historyMs = 15 * 60_000
const keptDeadLetters = 100
const keptRebalances = 20
/** The header a redrive sets; a dead letter keeps its message's headers. */
export const replayCountHeader = 'replay-count'

export function toDeadLetter(message: IncomingMessage): DeadLetter {
  const header = (name: string) => message.headers[`dead-letter.${name}`] ?? ''
  return {
    offset: String(message.offset),
    key: message.key?.toString() ?? null,
    value: message.value?.toString() ?? '',
    reason: header('reason'),
    failedAt: header('failed-at'),
    origin: {
      topic: header('origin.topic'),
      partition: Number(header('origin.partition')),
      offset: header('origin.offset'),
    },
    replays: Number(message.headers[replayCountHeader] ?? 0),
  }
}

/**
 * Reads `topic` from its start in a group of this process's own, committing nothing, handing
 * each message to `onMessage`: every API process lists every dead letter. Not a subscriber: it
 * keeps the raw messages (their headers say why they failed), whatever their bytes.
 */
function tail(
  kafka: KafkaClient,
  { topic, groupPrefix }: { topic: string; groupPrefix: string },
  onMessage: (message: IncomingMessage) => void,
  logger: AppLogger,
): { stop(): Promise<void> } {
  const stopping = new AbortController()
  const log = logger.child({ reads: topic })
  let started: Consumer | undefined
  const reading = retry(
    async () => {
      const consumer = await kafka.consumer({
        group: processGroup(groupPrefix),
        topic,
        concurrency: 1,
      })
      await consumer.start(async (batch) => {
        for (const message of batch.messages) onMessage(message)
      })
      started = consumer
      return consumer
    },
    {
      policy: untilStopped,
      signal: stopping.signal,
      onRetry: (error, attempt) => log.warn({ err: error, attempt }, 'reading failed, retrying'),
    },
  ).catch((error: unknown) => {
    if (!stopping.signal.aborted) log.error({ err: error }, 'reading stopped')
    return undefined
  })
  return {
    async stop() {
      stopping.abort()
      if (started) return started.stop()
      // Still connecting (Kafka away): the attempt in hand may take its client's whole retry
      // budget; stop without waiting for it, and stop what it yields, if anything.
      void reading.then((consumer) => consumer?.stop())
    },
  }
}

export function createQueueView(
  kafka: KafkaClient,
  admin: () => Promise<Admin>,
  options: QueueViewOptions,
  logger: AppLogger,
): QueueView & { stop(): Promise<void> } {
  const topic = kafkaName(options.namePrefix, options.topic)
  const group = kafkaName(options.namePrefix, options.group)
  const deadLetterTopic = kafkaName(options.namePrefix, options.deadLetter)
  const endsSeen: { at: number; ends: number[] }[] = []
  const rebalances: Rebalance[] = []
  let lastOwnership: string | undefined
  let lastOwners: Map<number, string> | undefined
  let unownedSince: number | undefined
  let lastReadingAt: number | undefined
  const deadLetters: DeadLetter[] = []
  // Started on the first look at the dead letters, so an API nobody watches reads none.
  let reader: { stop(): Promise<void> } | undefined
  const followDeadLetters = () => {
    reader ??= tail(
      kafka,
      {
        topic: deadLetterTopic,
        groupPrefix: kafkaName(options.namePrefix, 'live-page.dead-letters.'),
      },
      (message) => {
        deadLetters.unshift(toDeadLetter(message))
        deadLetters.length = Math.min(deadLetters.length, keptDeadLetters)
      },
      logger,
    )
  }

  /** When the event at `committed` arrived: at or before the first reading whose end passed it. */
  const arrivedBy = (partition: number, committed: number): number | undefined =>
    endsSeen.find(({ ends }) => (ends[partition] ?? 0) > committed)?.at

  return {
    async partitions() {
      const lag = await (await admin()).lag(group, topic)
      const now = Date.now()
      endsSeen.push({ at: now, ends: lag.map((p) => p.end) })
      while ((endsSeen[0]?.at ?? now) < now - historyMs) endsSeen.shift()
      return lag.map(({ partition, end, committed }) => {
        const since = end > committed ? arrivedBy(partition, committed) : undefined
        return {
          partition,
          end,
          committed,
          oldestWaitingSince:
            end > committed ? new Date(since ?? endsSeen[0]?.at ?? now).toISOString() : null,
        }
      })
    },

    async members() {
      const client = await admin()
      const [members, offsets] = await Promise.all([
        client.members(group, topic),
        client.offsets(topic),
      ])
      const result: GroupMember[] = members
        .map(({ id, clientId, host, partitions }) => ({ id, clientId, host, partitions }))
        .sort((a, b) => a.id.localeCompare(b.id))
      const now = Date.now()
      const owners = new Map(result.flatMap((m) => m.partitions.map((p) => [p, m.id] as const)))
      const complete = result.length > 0 && offsets.every((p) => owners.has(p.partition))
      if (!complete) unownedSince ??= now
      const ownership = JSON.stringify(result.map((m) => [m.id, m.partitions]))
      if (complete && ownership !== lastOwnership) {
        // The first reading is the starting point, not a change.
        if (lastOwners !== undefined) {
          const previous = lastOwners
          rebalances.push({
            at: new Date(now).toISOString(),
            members: result.length,
            moved: [...owners].filter(([p, id]) => previous.get(p) !== id).length,
            unownedMs: unownedSince === undefined ? 0 : now - unownedSince,
            readingsApartMs: now - (lastReadingAt ?? now),
          })
          rebalances.splice(0, Math.max(0, rebalances.length - keptRebalances))
        }
        lastOwnership = ownership
        lastOwners = owners
      }
      if (complete) unownedSince = undefined
      lastReadingAt = now
      return result
    },

    async rebalances() {
      return [...rebalances]
    },

    async deadLetterCount() {
      followDeadLetters()
      const offsets = await (await admin()).offsets(deadLetterTopic)
      return offsets.reduce((sum, p) => sum + p.end - p.start, 0)
    },

    async latestDeadLetters(limit) {
      followDeadLetters()
      return deadLetters.slice(0, limit)
    },

    async stop() {
      await reader?.stop()
    },
  }
}
