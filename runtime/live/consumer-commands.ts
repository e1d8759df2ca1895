/**
 * How the live page's consumer controls reach every consumer process, however many pods run:
 * the API publishes each command on the `consumers.control` topic, and every consumer process
 * follows that topic in a group of its own (runtime/kafka/follower.ts). The API needs neither
 * to find the pods nor to reach them over the network (no Service per pod, no new network
 * path, no Kubernetes API rights), and a command still arrives at a pod that is restarting.
 * Commands older than the process are history, not orders: ignored.
 */
import { z } from 'zod'
import type { KafkaClient } from '../kafka/client.ts'
import { type Follower, followTopic } from '../kafka/follower.ts'
import { kafkaName } from '../kafka/topics.ts'
import type { AppLogger } from '../logger.ts'

const Command = z.object({ command: z.enum(['pause', 'resume', 'add', 'remove']) })
export type ConsumerCommand = z.output<typeof Command>['command']

export function followConsumerCommands(
  kafka: KafkaClient,
  namePrefix: string,
  obey: (command: ConsumerCommand) => void,
  logger: AppLogger,
): Follower {
  const startedAt = Date.now()
  return followTopic(
    kafka,
    {
      topic: kafkaName(namePrefix, 'consumers.control'),
      groupPrefix: kafkaName(namePrefix, 'consumers.control.'),
    },
    (message) => {
      if (message.timestamp < startedAt) return
      let value: unknown
      try {
        value = JSON.parse(message.value?.toString() ?? '')
      } catch {}
      const parsed = Command.safeParse(value)
      if (!parsed.success) {
        logger.warn({ offset: String(message.offset) }, 'consumer command ignored: not a command')
        return
      }
      logger.info({ command: parsed.data.command }, 'consumer command')
      obey(parsed.data.command)
    },
    logger,
  )
}
