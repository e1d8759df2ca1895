// A copy of chart/ with its dependencies in charts/, made offline. Each remote dependency is the
// real packaged chart from ../shared/charts/ when it is there (as `helm dependency build` would
// place it), else a stand-in of the same name and version whose crds/ hold the operator's CRDs
// from ../shared/schemas. The eck-operator stand-in keeps ECK's layout (CRDs in the templates of
// an eck-operator-crds subchart, switched by installCRDs), so scripts/chart/prepare.sh derives
// the eck-crds chart from either exactly as from a download.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { chartSource, repoRoot, run, sharedDir } from './tools.ts'

type ChartDependency = { name: string; version: string; repository: string }

/** Which chart a dependency of the test copy is, for the test output. */
export type DependencySource = {
  name: string
  version: string
  real: boolean
  /** The packaged chart used, or why a stand-in replaces it. */
  detail: string
}

function chartYaml(name: string, version: string, extra = ''): string {
  return `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: test stand-in for ${name} ${version}\n${extra}`
}

function strimziStandIn(charts: string, version: string): void {
  const chart = path.join(charts, 'strimzi-kafka-operator')
  mkdirSync(path.join(chart, 'crds'), { recursive: true })
  writeFileSync(path.join(chart, 'Chart.yaml'), chartYaml('strimzi-kafka-operator', version))
  writeFileSync(path.join(chart, 'values.yaml'), 'watchNamespaces: []\n')
  const crds = path.join(sharedDir(), 'schemas/strimzi')
  for (const f of readdirSync(crds)) cpSync(path.join(crds, f), path.join(chart, 'crds', f))
}

function eckStandIn(charts: string, version: string): void {
  const chart = path.join(charts, 'eck-operator')
  const crdChart = path.join(chart, 'charts/eck-operator-crds')
  mkdirSync(path.join(crdChart, 'templates'), { recursive: true })
  writeFileSync(
    path.join(chart, 'Chart.yaml'),
    chartYaml(
      'eck-operator',
      version,
      `dependencies:\n  - name: eck-operator-crds\n    version: ${version}\n    condition: installCRDs\n`,
    ),
  )
  writeFileSync(path.join(chart, 'values.yaml'), 'installCRDs: true\n')
  writeFileSync(path.join(crdChart, 'Chart.yaml'), chartYaml('eck-operator-crds', version))
  cpSync(
    path.join(sharedDir(), 'schemas/eck/all-crds.yaml'),
    path.join(crdChart, 'templates/all-crds.yaml'),
  )
}

const standIns: Record<string, (charts: string, version: string) => void> = {
  'strimzi-kafka-operator': strimziStandIn,
  'eck-operator': eckStandIn,
}

/**
 * Copies the chart to dir/chart with its dependencies in charts/; returns the copy's path and,
 * for each remote dependency, whether it is the real chart.
 */
export function prepareChartCopy(
  dir: string,
  helm: string,
  env: NodeJS.ProcessEnv,
): { chart: string; dependencies: DependencySource[] } {
  const chart = path.join(dir, 'chart')
  rmSync(chart, { recursive: true, force: true })
  cpSync(chartSource, chart, {
    recursive: true,
    filter: (src) =>
      !src.startsWith(path.join(chartSource, 'charts')) && !/eck-crds\/crds\/.+\.yaml$/.test(src),
  })
  const charts = path.join(chart, 'charts')
  mkdirSync(charts, { recursive: true })
  const remote = (
    parse(readFileSync(path.join(chart, 'Chart.yaml'), 'utf8')) as {
      dependencies: ChartDependency[]
    }
  ).dependencies.filter((d) => !d.repository.startsWith('file://'))

  const dependencies = remote.map(({ name, version }): DependencySource => {
    const file = `${name}-${version}.tgz`
    const packaged = path.join(sharedDir(), 'charts', file)
    if (existsSync(packaged)) {
      cpSync(packaged, path.join(charts, file))
      return { name, version, real: true, detail: path.relative(repoRoot, packaged) }
    }
    const standIn = standIns[name]
    if (!standIn) throw new Error(`no ${packaged} and no stand-in for ${name}`)
    standIn(charts, version)
    return {
      name,
      version,
      real: false,
      detail: `${path.relative(repoRoot, packaged)} is missing`,
    }
  })

  const prepared = run(
    'bash',
    [path.join(repoRoot, 'scripts/chart/prepare.sh'), '--offline', chart],
    {
      ...env,
      HELM: helm,
    },
  )
  if (prepared.status !== 0) throw new Error(`scripts/chart/prepare.sh failed:\n${prepared.stderr}`)
  return { chart, dependencies }
}

/** A chart holding only CRDs of cluster add-ons the tests pretend are installed (KEDA, Prometheus Operator). */
export function addOnCrdsChart(dir: string): string {
  const schemas = path.join(sharedDir(), 'schemas')
  const chart = path.join(dir, 'addon-crds')
  rmSync(chart, { recursive: true, force: true })
  mkdirSync(path.join(chart, 'crds'), { recursive: true })
  writeFileSync(path.join(chart, 'Chart.yaml'), chartYaml('addon-crds', '0.0.0'))
  for (const f of readdirSync(path.join(schemas, 'keda'))) {
    cpSync(path.join(schemas, 'keda', f), path.join(chart, 'crds', f))
  }
  cpSync(
    path.join(import.meta.dirname, 'fixtures/prometheus-operator-crds.yaml'),
    path.join(chart, 'crds/prometheus-operator-crds.yaml'),
  )
  return chart
}
