// Global setup of the "chart" vitest project: builds (first run) or finds Helm, kubeconform, promtool,
// etcd and kube-apiserver, prepares a copy of the chart with its real dependency charts (stand-ins
// where those are missing, and says so), writes the kubeconform schemas, and starts etcd +
// kube-apiserver on loopback for the whole run.
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { writeCoreSchemas, writeCrdSchemas } from '../../scripts/chart/kube-schemas.ts'
import { startCluster } from './apiserver.ts'
import { addOnCrdsChart, type DependencySource, prepareChartCopy } from './dependencies.ts'
import {
  cacheDir,
  ensureTool,
  helmEnv,
  kubernetesModuleDir,
  repoRoot,
  run,
  sharedDir,
} from './tools.ts'

export type ChartEnv = {
  helm: string
  kubeconform: string
  promtool: string
  checkov: string
  work: string
  chart: string
  dependencies: DependencySource[]
  addOnCrds: string
  schemaDirs: string[]
  kubeconfig: string
  server: string
  token: string
  caFile: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    chartEnv: ChartEnv
  }
}

const KUBE_VERSION = 'v1.37.2'

function step<T>(what: string, fn: () => T): T {
  const start = Date.now()
  const result = fn()
  process.stderr.write(`chart setup: ${what} (${((Date.now() - start) / 1000).toFixed(1)} s)\n`)
  return result
}

function helmOut(helm: string, env: NodeJS.ProcessEnv, args: string[]): string {
  const r = run(helm, args, env)
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

export default async function setup(project: TestProject) {
  sharedDir()
  const toolsStart = Date.now()
  const [helm, kubeconform, promtool, etcd, apiserver, scanners] = await Promise.all([
    ensureTool('helm'),
    ensureTool('kubeconform'),
    ensureTool('promtool'),
    ensureTool('etcd'),
    ensureTool('kube-apiserver'),
    ensureTool('scanners'), // prints the bin folder of a venv holding checkov
  ])
  process.stderr.write(
    `chart setup: tools ready (${((Date.now() - toolsStart) / 1000).toFixed(1)} s)\n`,
  )

  const work = mkdtempSync(path.join(os.tmpdir(), 'icecream-chart-'))
  const env = helmEnv(path.join(work, 'helm'))
  const { chart, dependencies } = step('chart copy with its dependencies', () =>
    prepareChartCopy(work, helm, env),
  )
  for (const d of dependencies) {
    process.stderr.write(
      `chart setup: dependency ${d.name} ${d.version}: ${d.real ? `the real chart (${d.detail})` : `STAND-IN, not the real chart (${d.detail})`}\n`,
    )
  }
  const addOnCrds = addOnCrdsChart(work)

  // Keyed by the Kubernetes version and the converter's own source, so a converter change
  // regenerates the schemas.
  const converter = createHash('sha256')
    .update(readFileSync(path.join(repoRoot, 'scripts/chart/kube-schemas.ts')))
    .digest('hex')
    .slice(0, 12)
  const coreDir = path.join(cacheDir, 'kube-schemas', `${KUBE_VERSION}-${converter}`)
  if (!existsSync(path.join(coreDir, '.done'))) {
    step('core kind schemas from k8s.io/kubernetes OpenAPI', () => {
      const swagger = path.join(kubernetesModuleDir(), 'api/openapi-spec/swagger.json')
      rmSync(coreDir, { recursive: true, force: true })
      const n = writeCoreSchemas(swagger, coreDir)
      writeFileSync(path.join(coreDir, '.done'), `${n}\n`)
    })
  }
  const crdDir = path.join(work, 'crd-schemas')
  // The CRDs each dependency in charts/ carries in crds/ (real or stand-in), and the add-ons'.
  const crdFiles = readdirSync(path.join(chart, 'charts')).map((dep) => {
    const out = path.join(work, `crds-${dep}.yaml`)
    writeFileSync(out, helmOut(helm, env, ['show', 'crds', path.join(chart, 'charts', dep)]))
    return out
  })
  crdFiles.push(
    ...readdirSync(path.join(addOnCrds, 'crds')).map((f) => path.join(addOnCrds, 'crds', f)),
  )
  step('custom resource schemas from the CRDs', () => writeCrdSchemas(crdFiles, crdDir))

  mkdirSync(path.join(work, 'cluster'), { recursive: true })
  const started = await startCluster(path.join(work, 'cluster'), etcd, apiserver)
  process.stderr.write(`chart setup: kube-apiserver ready at ${started.cluster.server}\n`)

  project.provide('chartEnv', {
    helm,
    kubeconform,
    promtool,
    checkov: path.join(scanners, 'checkov'),
    work,
    chart,
    dependencies,
    addOnCrds,
    schemaDirs: [coreDir, crdDir],
    kubeconfig: started.cluster.kubeconfig,
    server: started.cluster.server,
    token: started.cluster.token,
    caFile: started.cluster.caFile,
  })

  return async () => {
    await started.stop()
    if (!process.env.ICECREAM_KEEP_CHART_WORK) rmSync(work, { recursive: true, force: true })
  }
}
