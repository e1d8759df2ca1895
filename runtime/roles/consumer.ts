/**
 * `ROLE=consumer`: runs the product's subscribers, each on its consumer group, storing what they
 * read; its HTTP app serves health, readiness and metrics.
 */
import type { z } from 'zod'
import type { SubscriberDefinition } from '../../handlers/define.ts'
import type { Ports } from '../../handlers/ports.ts'
import type { Context } from '../context.ts'
import { createElasticsearchClient, createElasticsearchStore } from '../elasticsearch/store.ts'
import { createSubscriberRunner, type SubscriberRunner } from '../kafka/subscriber-runner.ts'
import { loadSubscribers } from '../load-handlers.ts'

export interface Consumers {
  /** The product's subscribers and what they receive (for more members of their groups). */
  subscribers: SubscriberDefinition[]
  ports: Ports
  /** The product's runners in this process, one per subscriber. */
  runners: readonly SubscriberRunner[]
  /** Starts a runner of `subscriber` here; it stops with the process, or sooner by its `stop()`. */
  start<P>(subscriber: SubscriberDefinition<z.ZodType, P>, ports: P): SubscriberRunner
}

export async function startConsumer(context: Context): Promise<Consumers> {
  const { config, logger, metrics, kafka } = context
  const store = createElasticsearchStore(
    createElasticsearchClient(config),
    config.ELASTICSEARCH_INDEX,
  )
  context.onClose('the consumer store', () => store.close())
  const ports: Ports = {
    publish: context.publisher.publish,
    store,
    clock: { now: () => new Date() },
  }
  const start = <P>(subscriber: SubscriberDefinition<z.ZodType, P>, subscriberPorts: P) => {
    const runner = createSubscriberRunner(
      subscriber,
      kafka,
      subscriberPorts,
      {
        namePrefix: config.KAFKA_NAME_PREFIX,
        concurrency: config.CONSUMER_CONCURRENCY,
        maxDocuments: config.BULK_MAX_DOCUMENTS,
        maxBytes: config.BULK_MAX_BYTES,
        maxRestarts: config.CONSUMER_MAX_RESTARTS,
      },
      metrics,
      logger,
    )
    // The index template and the index are the setup's (ROLE=setup, its own identity): until
    // they exist, the consumer's writes are refused and it waits, as for any store outage.
    const started = runner.start(context.stopping).catch((error: unknown) => {
      if (!context.stopping.aborted) logger.error({ err: error }, 'consumer failed to start')
    })
    context.onClose(`the consumer of ${runner.topic} in ${runner.group}`, async () => {
      await started
      await runner.stop()
    })
    return runner
  }

  const subscribers = await loadSubscribers<Ports>()
  const runners = subscribers.map((subscriber) => start(subscriber, ports))
  context.readLag(async () => {
    const admin = await context.admin()
    const readings = await Promise.all(
      runners.map(async ({ topic, group }) =>
        (await admin.lag(group, topic)).map((reading) => ({ ...reading, topic, group })),
      ),
    )
    return readings.flat()
  })
  // A consumer needs both to do its work.
  context.ready('kafka', async () => (await context.admin()).ping(), { required: true })
  context.ready('elasticsearch', () => store.ping(), { required: true })
  // A consumer that keeps giving up is beyond this process: Kubernetes restarts the pod.
  context.alive(() => {
    const down = runners.find((runner) => runner.down)
    return down && `the consumer of ${down.topic} in ${down.group} is down: ${down.down?.message}`
  })
  return { subscribers, ports, runners, start }
}
