// The operators' view: the Grafana dashboard and the PrometheusRule query only series the running
// processes export, with the labels they use (derived by parsing every PromQL expression); promtool
// accepts the rule, and each alert fires in its unit test exactly when it should.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { env, find, helm, type Manifest, render, valueArgs } from './chart.ts'
import { appMetrics, exportedSeries, kafkaExporterMetrics } from './exported-series.ts'
import { checkQuery, templateLabels } from './promql.ts'
import { run } from './tools.ts'

type Target = { expr: string; legendFormat?: string }
type Panel = { type: string; title: string; targets?: Target[]; panels?: Panel[] }
type Variable = { name: string; type: string; query?: { query: string } }
type Dashboard = { uid: string; panels: Panel[]; templating: { list: Variable[] } }
type Rule = {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

const monitoring = () => render(valueArgs('monitoring')).own

function dashboardOf(docs: Manifest[]): Dashboard {
  const data = find(docs, 'ConfigMap', 'icecream-dashboard').data as Record<string, string>
  return JSON.parse(data['icecream-queue.json'] as string) as Dashboard
}

function rulesOf(docs: Manifest[]): Rule[] {
  return (find(docs, 'PrometheusRule').spec.groups as { rules: Rule[] }[]).flatMap((g) => g.rules)
}

/** Grafana's variables put in place as Grafana would before the query reaches Prometheus. */
const withVariables = (expr: string) =>
  expr.replaceAll('$__rate_interval', '5m').replace(/\$\{?[a-zA-Z_]\w*\}?/g, 'any')

const exported = exportedSeries()

describe('dashboard and alerts', () => {
  it("takes canary_freshness_seconds from the app's registry: the canary's histogram, no labels", () => {
    const canary = appMetrics().find((m) => m.name === 'canary_freshness_seconds')
    expect(canary).toMatchObject({ type: 'histogram', labelNames: [] })
  })

  it('the dashboard queries only exported series, with the labels its filters, groupings and legends use', () => {
    const dashboard = dashboardOf(monitoring())
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
    const graphs = panels.filter((p) => p.type !== 'row')
    expect(graphs.length).toBeGreaterThanOrEqual(10)
    const queried = new Set<string>()
    for (const panel of graphs) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
      for (const target of panel.targets ?? []) {
        const checked = checkQuery(withVariables(target.expr), exported)
        expect(checked.problems, `${panel.title}: ${target.expr}`).toEqual([])
        for (const label of templateLabels(target.legendFormat ?? '')) {
          expect(checked.labels, `${panel.title}: legend {{${label}}}`).toContain(label)
        }
        for (const s of checked.series) queried.add(s)
      }
    }
    // Grafana's label_values(selector, label) variables.
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const [, selector, label] =
        /^label_values\((.+),\s*(\w+)\)$/.exec(variable.query?.query ?? '') ?? []
      expect(selector, `variable ${variable.name}`).toBeTruthy()
      const checked = checkQuery(withVariables(selector as string), exported)
      expect(checked.problems, `variable ${variable.name}`).toEqual([])
      expect(checked.labels, `variable ${variable.name}`).toContain(label)
    }
    // What the issue asks the dashboard to show.
    for (const s of [
      'kafka_published_events_total',
      'kafka_consumed_events_total',
      'http_request_duration_seconds_bucket',
      'kafka_consumer_lag',
      'kafka_consumergroup_lag',
      'kafka_consumer_restarts_total',
      'kafka_consumer_backoffs_total',
      'canary_freshness_seconds_bucket',
      'kafka_topic_partition_under_replicated_partition',
    ]) {
      expect([...queried], s).toContain(s)
    }
  })

  it('every alert queries only exported series, with the labels its filters, groupings and annotations use', () => {
    const rules = rulesOf(monitoring())
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'IcecreamApiErrors',
      'IcecreamConsumerGroupEmpty',
      'IcecreamConsumerLagGrowing',
      'IcecreamDeadLetters',
      'IcecreamFreshnessSlow',
      'IcecreamUnderReplicatedPartitions',
    ])
    for (const rule of rules) {
      const checked = checkQuery(rule.expr, exported)
      expect(checked.problems, rule.alert).toEqual([])
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/)
      expect(Object.keys(rule.annotations ?? {}).sort(), rule.alert).toEqual([
        'description',
        'summary',
      ])
      for (const text of Object.values(rule.annotations ?? {})) {
        for (const label of templateLabels(text)) {
          expect(checked.labels, `${rule.alert}: $labels.${label}`).toContain(label)
        }
      }
    }
  })

  it('the check itself reports an unknown series, a label a series lacks, a grouping on a lost label and bad syntax', () => {
    const problems = (expr: string) => checkQuery(expr, exported).problems
    expect(problems('sum(rate(kafka_consumed_events_total{outcome="stored"}[5m]))')).toEqual([])
    expect(problems('rate(kafka_consumed_events[5m])')).toEqual([
      'series "kafka_consumed_events" is not exported',
    ])
    expect(problems('kafka_consumergroup_lag{group="g"}')).toEqual([
      'series "kafka_consumergroup_lag" has no label "group"',
    ])
    expect(problems('sum by (partition) (sum by (topic) (kafka_consumer_lag))')).toEqual([
      'sum by uses label "partition", which its input does not carry',
    ])
    expect(problems('sum(kafka_consumer_lag) and on (topic) kafka_consumer_paused')).toEqual([
      'on (left side) uses label "topic", which its input does not carry',
    ])
    expect(problems('sum(rate(kafka_consumer_lag[5m]')[0]).toMatch(/^syntax error/)
    expect(
      checkQuery(
        'histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))',
        new Map([['x_bucket', new Set(['le'])]]),
      ).labels,
    ).toEqual(new Set())
  })

  it(`knows Kafka Exporter ${kafkaExporterMetrics().version}'s series, the version Strimzi 1.2 ships`, () => {
    const { metrics } = kafkaExporterMetrics()
    expect(metrics.kafka_consumergroup_lag).toEqual(['consumergroup', 'topic', 'partition'])
    expect(metrics.kafka_consumergroup_members).toEqual(['consumergroup'])
    expect(metrics.kafka_topic_partition_under_replicated_partition).toEqual(['topic', 'partition'])
  })
})

describe('PrometheusRule', () => {
  const promtool = (args: string[]) => run(env().promtool, args)

  /** The rendered rule as a Prometheus rule file, and the unit tests beside it. */
  function ruleFiles(): string {
    const dir = mkdtempSync(path.join(env().work, 'rules-'))
    writeFileSync(
      path.join(dir, 'rules.yaml'),
      stringify({ groups: find(monitoring(), 'PrometheusRule').spec.groups }),
    )
    cpSync(
      path.join(import.meta.dirname, 'fixtures/alert-rules.test.yaml'),
      path.join(dir, 'alert-rules.test.yaml'),
    )
    return dir
  }

  it('passes promtool check rules', () => {
    const dir = ruleFiles()
    const r = promtool(['check', 'rules', path.join(dir, 'rules.yaml')])
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toContain('SUCCESS: 6 rules found')
    expect(r.status).toBe(0)
  })

  it('fires each alert in its promtool unit test, and not on the look-alikes', () => {
    const dir = ruleFiles()
    const r = promtool(['test', 'rules', path.join(dir, 'alert-rules.test.yaml')])
    process.stderr.write(`promtool test rules: ${r.stdout.trim().split('\n').pop()}\n`)
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toContain('SUCCESS')
    expect(r.status).toBe(0)
  })

  it('takes its thresholds from the values, and leaves out the Kafka Exporter alerts without the exporter', () => {
    const tuned = rulesOf(
      render([
        ...valueArgs('monitoring'),
        // --set reads 12.5 as a string; --set-json keeps numbers numbers.
        '--set-json',
        'monitoring.alerts={"enabled":true,"lagThreshold":250,"lagGrowingFor":"3m","freshnessSeconds":12.5,"apiErrorRatio":0.2}',
      ]).own,
    )
    const rule = (name: string) => tuned.find((r) => r.alert === name) as Rule
    expect(rule('IcecreamConsumerLagGrowing').expr).toContain('> 250\n')
    expect(rule('IcecreamConsumerLagGrowing').for).toBe('3m')
    expect(rule('IcecreamFreshnessSlow').expr).toMatch(/> 12\.5$/)
    expect(rule('IcecreamApiErrors').expr).toMatch(/> 0\.2$/)
    const withoutExporter = rulesOf(
      render([...valueArgs('monitoring'), '--set', 'kafka.exporter.enabled=false']).own,
    )
    expect(withoutExporter.map((r) => r.alert).sort()).toEqual([
      'IcecreamApiErrors',
      'IcecreamDeadLetters',
      'IcecreamFreshnessSlow',
    ])
  })

  it('is rendered only when asked for, and refuses a cluster that does not serve PrometheusRule', () => {
    expect(render([]).own.some((d) => d.kind === 'PrometheusRule')).toBe(false)
    const r = helm([
      'template',
      'icecream',
      env().chart,
      '--set',
      'monitoring.alerts.enabled=true',
      '--api-versions',
      'monitoring.coreos.com/v1/ServiceMonitor',
    ])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('does not serve monitoring.coreos.com/v1 (PrometheusRule)')
  })
})

describe('dashboard ConfigMap', () => {
  it("carries the sidecar's label, the chosen namespace and annotations, and the dashboard file as it is", () => {
    const docs = render([
      ...valueArgs('monitoring'),
      '--set',
      'monitoring.dashboards.label=grafana_dashboard_icecream,monitoring.dashboards.labelValue=yes,monitoring.dashboards.namespace=monitoring',
    ]).own
    const configMap = find(docs, 'ConfigMap', 'icecream-dashboard')
    expect(configMap.metadata.namespace).toBe('monitoring')
    expect(configMap.metadata.labels?.grafana_dashboard_icecream).toBe('yes')
    expect(configMap.metadata.annotations).toEqual({ grafana_folder: 'Shop' })
    expect(dashboardOf(docs).uid).toBe('icecream-queue')
    const defaults = find(monitoring(), 'ConfigMap', 'icecream-dashboard')
    expect(defaults.metadata.namespace).toBe('shop')
    expect(defaults.metadata.labels?.grafana_dashboard).toBe('1')
    expect(render([]).own.some((d) => d.metadata.name === 'icecream-dashboard')).toBe(false)
  })
})
