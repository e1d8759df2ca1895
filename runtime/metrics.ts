/** Prometheus metrics of the runtime, in one registry served at /metrics. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export interface PartitionLagReading {
  topic: string
  group: string
  partition: number
  lag: number
}

/**
 * `lag` is read at each scrape (consumer roles only): how many events wait in each partition
 * for each subscriber's group, the number that shows the queue buffering.
 */
export function createMetrics(sources: { lag?: () => Promise<PartitionLagReading[]> } = {}) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  return {
    registry,
    httpRequests: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by route, method and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    publishBatchSize: new Histogram({
      name: 'kafka_publish_batch_size',
      help: 'Events per produce request (concurrent requests gathered into one).',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    }),
    published: new Counter({
      name: 'kafka_published_events_total',
      help: 'Events acknowledged by Kafka, or failed, by topic.',
      labelNames: ['topic', 'outcome'] as const,
      registers,
    }),
    consumed: new Counter({
      name: 'kafka_consumed_events_total',
      help: 'Events handled by a subscriber: stored, dead-lettered, or dropped (no dead-letter topic).',
      labelNames: ['topic', 'group', 'outcome'] as const,
      registers,
    }),
    consumerBackoffs: new Counter({
      name: 'kafka_consumer_backoffs_total',
      help: "Waits before a subscriber's retry, by reason (unavailable, error, dead-letter, connect).",
      labelNames: ['topic', 'group', 'reason'] as const,
      registers,
    }),
    consumerRestarts: new Counter({
      name: 'kafka_consumer_restarts_total',
      help: 'Times a Kafka client gave up consuming for good and was replaced after a back-off.',
      labelNames: ['topic', 'group'] as const,
      registers,
    }),
    consumerPaused: new Gauge({
      name: 'kafka_consumer_paused',
      help: '1 while the consumer is paused by an operator.',
      labelNames: ['topic', 'group'] as const,
      registers,
    }),
    consumerLag: new Gauge({
      name: 'kafka_consumer_lag',
      help: "Events in a subscriber's topic not yet committed by its consumer group, per partition.",
      labelNames: ['topic', 'group', 'partition'] as const,
      registers,
      async collect() {
        if (!sources.lag) return
        try {
          for (const { topic, group, partition, lag } of await sources.lag()) {
            this.set({ topic, group, partition: String(partition) }, lag)
          }
        } catch {
          // Kafka unreachable: keep the last readings rather than fail the whole scrape.
        }
      },
    }),
    canaryFreshness: new Histogram({
      name: 'canary_freshness_seconds',
      help: "Seconds from the API's 202 to the canary purchase being searchable in Elasticsearch.",
      buckets: [0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 120],
      registers,
    }),
    bulkDuration: new Histogram({
      name: 'store_batch_duration_seconds',
      help: 'Time to handle one batch of events (bulk write included).',
      labelNames: ['topic', 'group'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
