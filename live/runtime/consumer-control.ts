/**
 * A consumer process's controls: the commands the live page sends every consumer process, and
 * its own routes to pause and resume it by hand.
 */
import { Hono } from 'hono'
import { requireControlToken } from '../../runtime/http/app.ts'
import type { SubscriberRunner } from '../../runtime/kafka/subscriber-runner.ts'
import type { AppLogger } from '../../runtime/logger.ts'
import type { Consumers } from '../../runtime/roles/consumer.ts'
import { maxExtraMembers } from '../limits.ts'
import type { ConsumerCommand, ConsumerControl } from '../ports.ts'

/**
 * Pause and resume this process's consumers by hand, to watch the queue buffer: while paused,
 * the API keeps accepting purchases and the lag grows; on resume it drains. Served with
 * DEMO_CONTROLS=true only, and only to requests carrying DEMO_CONTROL_TOKEN (the live page's
 * controls reach every consumer process through the consumers.control topic instead).
 */
export function consumerControlRoutes(runners: readonly SubscriberRunner[], token: string): Hono {
  const state = (c: { json(body: unknown): Response }) =>
    c.json({ consumers: runners.length, paused: runners.some((runner) => runner.paused) })
  return new Hono()
    .use('/consumer', requireControlToken(token))
    .use('/consumer/*', requireControlToken(token))
    .get('/consumer', (c) => state(c))
    .post('/consumer/pause', (c) => {
      for (const runner of runners) runner.pause()
      return state(c)
    })
    .post('/consumer/resume', (c) => {
      for (const runner of runners) runner.resume()
      return state(c)
    })
}

/**
 * What a consumer process does on each consumer command (subscribers/obey-consumer-commands.ts):
 * pause or resume every member here; add one more member of each of the product's subscribers'
 * groups (another consumer in the group, in this process), up to `maxExtraMembers`; or remove
 * the member added last. Added members stop with the process.
 */
export function createConsumerControl(consumers: Consumers, logger: AppLogger): ConsumerControl {
  const extraMembers: SubscriberRunner[][] = []
  const members = () => [...consumers.runners, ...extraMembers.flat()]
  const actions: Record<ConsumerCommand, () => void> = {
    pause: () => {
      for (const member of members()) member.pause()
    },
    resume: () => {
      for (const member of members()) member.resume()
    },
    add: () => {
      if (extraMembers.length >= maxExtraMembers) return
      const paused = consumers.runners.some((runner) => runner.paused)
      const added = consumers.subscribers.map((subscriber) =>
        consumers.start(subscriber, consumers.ports),
      )
      if (paused) for (const member of added) member.pause()
      extraMembers.push(added)
    },
    remove: () => {
      for (const member of extraMembers.pop() ?? []) void member.stop()
    },
  }
  return {
    obey(command) {
      logger.info({ command }, 'consumer command')
      actions[command]()
    },
  }
}
