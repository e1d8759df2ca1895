// A copy of chart/ whose dependencies are stand-ins of the same name and version, made offline:
// their crds/ hold the operators' CRDs from ../shared/schemas. The eck-operator stand-in keeps
// ECK's layout (CRDs in the templates of an eck-operator-crds subchart, switched by installCRDs),
// so scripts/chart/prepare.sh derives the eck-crds chart from it exactly as from the real one.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { chartSource, repoRoot, run, sharedDir } from './tools.ts'

type Dependency = { name: string; version: string; repository: string }

function chartYaml(name: string, version: string, extra = ''): string {
  return `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: test stand-in for ${name} ${version}\n${extra}`
}

/** Copies the chart to dir/chart with stand-in dependencies; returns the copy's path. */
export function prepareChartCopy(dir: string, helm: string, env: NodeJS.ProcessEnv): string {
  const schemas = path.join(sharedDir(), 'schemas')
  const chart = path.join(dir, 'chart')
  rmSync(chart, { recursive: true, force: true })
  cpSync(chartSource, chart, {
    recursive: true,
    filter: (src) =>
      !src.startsWith(path.join(chartSource, 'charts')) && !/eck-crds\/crds\/.+\.yaml$/.test(src),
  })
  const deps = (
    parse(readFileSync(path.join(chart, 'Chart.yaml'), 'utf8')) as { dependencies: Dependency[] }
  ).dependencies
  const version = (name: string) => {
    const dep = deps.find((d) => d.name === name)
    if (!dep) throw new Error(`chart/Chart.yaml has no dependency ${name}`)
    return dep.version
  }
  const charts = path.join(chart, 'charts')
  mkdirSync(charts, { recursive: true })

  const strimzi = path.join(charts, 'strimzi-kafka-operator')
  mkdirSync(path.join(strimzi, 'crds'), { recursive: true })
  writeFileSync(
    path.join(strimzi, 'Chart.yaml'),
    chartYaml('strimzi-kafka-operator', version('strimzi-kafka-operator')),
  )
  writeFileSync(path.join(strimzi, 'values.yaml'), 'watchNamespaces: []\n')
  for (const f of readdirSync(path.join(schemas, 'strimzi'))) {
    cpSync(path.join(schemas, 'strimzi', f), path.join(strimzi, 'crds', f))
  }

  const eckVersion = version('eck-operator')
  const eck = path.join(charts, 'eck-operator')
  const eckCrds = path.join(eck, 'charts/eck-operator-crds')
  mkdirSync(path.join(eckCrds, 'templates'), { recursive: true })
  writeFileSync(
    path.join(eck, 'Chart.yaml'),
    chartYaml(
      'eck-operator',
      eckVersion,
      `dependencies:\n  - name: eck-operator-crds\n    version: ${eckVersion}\n    condition: installCRDs\n`,
    ),
  )
  writeFileSync(path.join(eck, 'values.yaml'), 'installCRDs: true\n')
  writeFileSync(path.join(eckCrds, 'Chart.yaml'), chartYaml('eck-operator-crds', eckVersion))
  cpSync(path.join(schemas, 'eck/all-crds.yaml'), path.join(eckCrds, 'templates/all-crds.yaml'))

  const prepared = run(
    'bash',
    [path.join(repoRoot, 'scripts/chart/prepare.sh'), '--offline', chart],
    {
      ...env,
      HELM: helm,
    },
  )
  if (prepared.status !== 0) throw new Error(`scripts/chart/prepare.sh failed:\n${prepared.stderr}`)
  return chart
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
