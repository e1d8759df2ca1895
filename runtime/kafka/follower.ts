/**
 * Follows a topic from its start in a consumer group of this process's own, committing nothing:
 * every process sees every message (a shared group would hand each message to one of them). Used
 * for the consumer commands (every consumer process obeys them) and the API's view of the dead
 * letters. The group name starts with a prefix the process's identity may read under
 * (chart/files/privileges.yaml).
 */
import { hostname } from 'node:os'
import type { AppLogger } from '../logger.ts'
import { retry, untilStopped } from '../retry.ts'
import type { Consumer, IncomingMessage, KafkaClient } from './client.ts'

/** This process among its replicas: a group name of its own. */
export const instanceId = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`

export interface Follower {
  stop(): Promise<void>
}

export function followTopic(
  kafka: KafkaClient,
  { topic, groupPrefix }: { topic: string; groupPrefix: string },
  onMessage: (message: IncomingMessage, partition: number) => void,
  logger: AppLogger,
): Follower {
  const stopping = new AbortController()
  const log = logger.child({ follows: topic })
  let started: Consumer | undefined
  const following: Promise<Consumer | undefined> = retry(
    async () => {
      const consumer = await kafka.consumer({
        group: `${groupPrefix}${instanceId}`,
        topic,
        concurrency: 1,
      })
      await consumer.start(async (batch) => {
        for (const message of batch.messages) onMessage(message, batch.partition)
      })
      started = consumer
      return consumer
    },
    {
      policy: untilStopped,
      signal: stopping.signal,
      onRetry: (error, attempt) => log.warn({ err: error, attempt }, 'following failed, retrying'),
    },
  ).catch((error: unknown) => {
    if (!stopping.signal.aborted) log.error({ err: error }, 'following stopped')
    return undefined
  })
  return {
    async stop() {
      stopping.abort()
      if (started) return started.stop()
      // Still connecting (Kafka away): the attempt in hand may take its client's whole retry
      // budget; stop without waiting for it, and stop what it yields, if anything.
      void following.then((consumer) => consumer?.stop())
    },
  }
}
