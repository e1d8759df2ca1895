// Every series the running processes export, with its label names: the app's from its own metrics
// registry (runtime/metrics.ts), Kafka Exporter's from its documented names (fixture), plus the
// labels Prometheus adds when it scrapes a target.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { createMetrics } from '../../runtime/metrics.ts'
import type { Catalogue } from './promql.ts'

/** Target labels the Prometheus Operator's ServiceMonitor and PodMonitor put on every sample. */
export const scrapeLabels = [
  'namespace',
  'pod',
  'container',
  'endpoint',
  'job',
  'instance',
  'service',
]

type Metric = { name: string; type: string; labelNames: readonly string[] }

/** The series names a metric family is exported as, each with its labels. */
function seriesOf({ name, type, labelNames }: Metric): [string, Set<string>][] {
  const labels = [...labelNames, ...scrapeLabels]
  switch (type) {
    case 'histogram':
      return [
        [`${name}_bucket`, new Set([...labels, 'le'])],
        [`${name}_sum`, new Set(labels)],
        [`${name}_count`, new Set(labels)],
      ]
    case 'summary':
      return [
        [name, new Set([...labels, 'quantile'])],
        [`${name}_sum`, new Set(labels)],
        [`${name}_count`, new Set(labels)],
      ]
    default:
      return [[name, new Set(labels)]]
  }
}

/** The app's metric families, read from the registry that serves /metrics. */
export function appMetrics(): Metric[] {
  // prom-client keeps each metric's label names on the object; its typings leave them out.
  return createMetrics()
    .registry.getMetricsAsArray()
    .map((m) => {
      const { labelNames = [] } = m as typeof m & { labelNames?: readonly string[] }
      return { name: m.name, type: String(m.type), labelNames }
    })
}

export type KafkaExporterFixture = { version: string; metrics: Record<string, string[]> }

export function kafkaExporterMetrics(): KafkaExporterFixture {
  return parse(
    readFileSync(path.join(import.meta.dirname, 'fixtures/kafka-exporter-metrics.yaml'), 'utf8'),
  ) as KafkaExporterFixture
}

/** The catalogue the dashboard and alert queries are checked against. */
export function exportedSeries(): Catalogue {
  const exporter = Object.entries(kafkaExporterMetrics().metrics).map(([name, labelNames]) => ({
    name,
    type: 'gauge',
    labelNames,
  }))
  return new Map([...appMetrics(), ...exporter].flatMap(seriesOf))
}
