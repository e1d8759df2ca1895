// Rendering and checking helpers for the chart tests.
import path from 'node:path'
import { inject } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { schemaLocations } from '../../scripts/chart/kube-schemas.ts'
import { helmEnv, type Run, run, runAsync } from './tools.ts'

export type Manifest = {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
  }
  // biome-ignore lint/suspicious/noExplicitAny: rendered objects are checked field by field
  spec?: any
  // biome-ignore lint/suspicious/noExplicitAny: as above
  [key: string]: any
}

/** The value sets every check runs over: name -> values file in chart/ci ('' = defaults). */
export const valueSets: Record<string, { file?: string; apiVersions: string[] }> = {
  defaults: { apiVersions: [] },
  minimal: { file: 'ci/minimal-values.yaml', apiVersions: [] },
  keda: {
    file: 'ci/keda-values.yaml',
    apiVersions: ['keda.sh/v1alpha1/ScaledObject', 'keda.sh/v1alpha1/TriggerAuthentication'],
  },
  tls: { file: 'ci/tls-values.yaml', apiVersions: [] },
  monitoring: {
    file: 'ci/monitoring-values.yaml',
    apiVersions: [
      'monitoring.coreos.com/v1/ServiceMonitor',
      'monitoring.coreos.com/v1/PodMonitor',
      'monitoring.coreos.com/v1/PrometheusRule',
    ],
  },
  'second-release': { file: 'ci/second-release-values.yaml', apiVersions: [] },
}

export function env() {
  return inject('chartEnv')
}

/** True when the dependency is the real chart, not a stand-in (which renders no operator). */
export function realChart(name: 'strimzi-kafka-operator' | 'eck-operator'): boolean {
  return env().dependencies.some((d) => d.name === name && d.real)
}

export function valueArgs(set: string): string[] {
  const vs = valueSets[set]
  if (!vs) throw new Error(`unknown value set ${set}`)
  return [
    ...(vs.file ? ['-f', path.join(env().chart, vs.file)] : []),
    ...vs.apiVersions.flatMap((a) => ['--api-versions', a]),
  ]
}

/** Runs helm with an isolated home; `cluster` points it at the test API server. */
export function helm(args: string[], cluster = false): Run {
  const e = env()
  return run(e.helm, args, helmEnv(path.join(e.work, 'helm'), cluster ? e.kubeconfig : undefined))
}

/** `helm` without blocking, against the test API server. */
export function helmInBackground(args: string[]): Promise<Run> {
  const e = env()
  return runAsync(e.helm, args, helmEnv(path.join(e.work, 'helm'), e.kubeconfig))
}

/**
 * helm template of the chart copy; throws with helm's message when rendering fails. `docs` are
 * all objects, the operators' charts' included; `own` those of this chart's templates, and
 * `sources` the template each object of `docs` comes from.
 */
export function render(
  extra: string[],
  release = 'icecream',
  namespace = 'shop',
): { yaml: string; docs: Manifest[]; own: Manifest[]; sources: Map<Manifest, string> } {
  const r = helm(['template', release, env().chart, '--namespace', namespace, ...extra])
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`)
  const sources = new Map<Manifest, string>()
  for (const d of parseAllDocuments(r.stdout)) {
    const m = d.toJS() as Manifest | null
    const source = /Source: (\S+)/.exec(`${d.commentBefore} ${d.contents?.commentBefore}`)?.[1]
    if (m && source) sources.set(m, source)
  }
  const docs = [...sources.keys()]
  const own = docs.filter((m) => sources.get(m)?.startsWith(`${ownChart}/templates/`))
  return { yaml: r.stdout, docs, own, sources }
}

/** The chart's own name: its templates render under "<name>/templates/". */
const ownChart = 'icecream'

export function find(docs: Manifest[], kind: string, name?: string): Manifest {
  const found = docs.find(
    (d) => d.kind === kind && (name === undefined || d.metadata.name === name),
  )
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in the rendering`)
  return found
}

/** kubeconform -strict over a rendering; returns its result. */
export function kubeconform(yaml: string): Run {
  const e = env()
  return run(
    e.kubeconform,
    ['-strict', '-summary', '-output', 'text', ...e.schemaDirs.flatMap(schemaLocations), '-'],
    {},
    yaml,
  )
}
