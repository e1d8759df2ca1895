// A real kube-apiserver (started by the global setup): real installs of every value set into
// namespaces enforcing the restricted Pod Security profile, an upgrade in place, the helm test
// hook Pod, uninstall keeping the data, and bad values / bad resources the API server rejects
// although the static checks let them through.
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { kubeRequest } from './apiserver.ts'
import { env, helm, kubeconform, valueArgs, valueSets } from './chart.ts'

const api = (method: string, urlPath: string, body?: unknown) =>
  kubeRequest(env(), method, urlPath, body)

async function restrictedNamespace(name: string): Promise<void> {
  const r = await api('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
      },
    },
  })
  if (r.status !== 201 && r.status !== 409)
    throw new Error(`creating namespace ${name}: ${JSON.stringify(r.body)}`)
}

/** helm install for real (no dry run), without waiting: nothing runs on this API server. */
function install(namespace: string, args: string[], chart = env().chart) {
  return helm(
    ['install', 'icecream', chart, '--namespace', namespace, '--timeout', '60s', ...args],
    true,
  )
}

/** A copy of the prepared chart with one template edited; fails if the edit does not apply. */
function brokenChart(name: string, file: string, from: string | RegExp, to: string): string {
  const dir = path.join(env().work, `broken-${name}`)
  cpSync(env().chart, dir, { recursive: true })
  const target = path.join(dir, 'templates', file)
  const text = readFileSync(target, 'utf8')
  const changed = text.replace(from, to)
  if (changed === text) throw new Error(`edit of ${file} for ${name} did not apply`)
  writeFileSync(target, changed)
  return dir
}

beforeAll(() => {
  // Cluster add-ons installed once per cluster, outside this chart: only their CRDs matter here.
  const r = helm(
    ['install', 'addons', env().addOnCrds, '--namespace', 'addons', '--create-namespace'],
    true,
  )
  if (r.status !== 0) throw new Error(`installing the add-on CRDs: ${r.stderr}`)
})

describe('helm install on a real API server', () => {
  it.each(Object.keys(valueSets))(
    'installs value set %s in a restricted namespace',
    async (set) => {
      const ns = `set-${set}`
      await restrictedNamespace(ns)
      const r = install(
        ns,
        valueArgs(set).filter(
          (a, i, all) => a !== '--api-versions' && all[i - 1] !== '--api-versions',
        ),
      )
      expect(r.stderr, r.stderr).not.toMatch(/violate PodSecurity/)
      expect(r.status, r.stderr).toBe(0)
      // NOTES.txt: how to reach /docs and how to run the smoke check.
      expect(r.stdout).toContain('/docs')
      expect(r.stdout).toContain(`helm test icecream -n ${ns} --logs`)
      const es = await api(
        'GET',
        `/apis/elasticsearch.k8s.elastic.co/v1/namespaces/${ns}/elasticsearches/icecream`,
      )
      expect(es.status).toBe(200)
      const kafka = await api('GET', `/apis/kafka.strimzi.io/v1/namespaces/${ns}/kafkas/icecream`)
      expect(kafka.status).toBe(200)
    },
  )

  it('upgrades in place: the Elasticsearch keeps its uid, the app user its password', async () => {
    const ns = 'set-defaults'
    const esPath = `/apis/elasticsearch.k8s.elastic.co/v1/namespaces/${ns}/elasticsearches/icecream`
    const before = (await api('GET', esPath)).body as { metadata: { uid: string } }
    const secretPath = `/api/v1/namespaces/${ns}/secrets/icecream-es-consumer-user`
    const password = ((await api('GET', secretPath)).body as { data: { password: string } }).data
      .password
    const r = helm(
      [
        'upgrade',
        'icecream',
        env().chart,
        '--namespace',
        ns,
        '--set',
        'elasticsearch.nodes=5',
        '--set',
        'kafka.topics.purchases.partitions=12',
        '--set',
        'api.autoscaling.maxReplicas=20',
      ],
      true,
    )
    expect(r.status, r.stderr).toBe(0)
    const after = (await api('GET', esPath)).body as {
      metadata: { uid: string }
      spec: { nodeSets: { count: number }[] }
    }
    expect(after.metadata.uid).toBe(before.metadata.uid)
    expect(after.spec.nodeSets[0]?.count).toBe(5)
    const topic = (
      await api('GET', `/apis/kafka.strimzi.io/v1/namespaces/${ns}/kafkatopics/icecream-purchases`)
    ).body as {
      spec: { partitions: number }
    }
    expect(topic.spec.partitions).toBe(12)
    expect(
      ((await api('GET', secretPath)).body as { data: { password: string } }).data.password,
    ).toBe(password)
  })

  it('helm test creates a well-formed smoke test Pod (Pending: no kubelet here)', async () => {
    const ns = 'set-defaults'
    const r = helm(['test', 'icecream', '--namespace', ns, '--timeout', '5s'], true)
    expect(r.stderr).not.toMatch(/forbidden|violates PodSecurity/)
    const pod = await api('GET', `/api/v1/namespaces/${ns}/pods/icecream-smoke`)
    expect(pod.status).toBe(200)
    const body = pod.body as {
      metadata: { annotations: Record<string, string> }
      spec: {
        containers: { image: string; command: string[]; env: { name: string; value: string }[] }[]
      }
      status: { phase: string }
    }
    expect(body.metadata.annotations['helm.sh/hook']).toBe('test')
    expect(body.status.phase).toBe('Pending')
    const c = body.spec.containers[0]
    expect(c?.command).toEqual(['node', 'dist/runtime/smoke.js'])
    expect(c?.image).toBe('registry.digitalocean.com/icecream/icecream-queue:0.1.0')
    expect(c?.env).toContainEqual({
      name: 'SMOKE_BASE_URL',
      value: `http://icecream-api.${ns}.svc:8080`,
    })
  })

  it('helm uninstall keeps Kafka and Elasticsearch (resource-policy keep), removes the app', async () => {
    const ns = 'set-tls'
    const r = helm(['uninstall', 'icecream', '--namespace', ns], true)
    expect(r.status, r.stderr).toBe(0)
    expect(
      (
        await api(
          'GET',
          `/apis/elasticsearch.k8s.elastic.co/v1/namespaces/${ns}/elasticsearches/icecream`,
        )
      ).status,
    ).toBe(200)
    expect(
      (await api('GET', `/apis/kafka.strimzi.io/v1/namespaces/${ns}/kafkas/icecream`)).status,
    ).toBe(200)
    expect(
      (await api('GET', `/apis/apps/v1/namespaces/${ns}/deployments/icecream-api`)).status,
    ).toBe(404)
  })
})

// Cases the values schema allows or that break a template, which kubeconform passes and the API
// server rejects, each with the field path. Each runs in its own namespace.
type BadCase = {
  name: string
  args?: string[]
  chart?: () => string
  message: RegExp
  viaTest?: boolean
}
const badCases: BadCase[] = [
  {
    name: 'annotation-key',
    args: ['--set-json', 'api.service.annotations={"bad key!":"x"}'],
    message: /metadata\.annotations: Invalid value: "bad key!"/,
  },
  {
    name: 'label-value',
    args: [
      '-f',
      'ci/monitoring-values.yaml',
      '--set',
      `monitoring.prometheusOperator.labels.team=${'x'.repeat(70)}`,
    ],
    message: /metadata\.labels: Invalid value: "x{70}": must be no more than 63/,
  },
  {
    name: 'selector',
    chart: () =>
      brokenChart(
        'selector',
        'deployment.yaml',
        'matchLabels:\n      {{- include "icecream.componentSelectorLabels"',
        'matchLabels:\n      tier: other\n      {{- include "icecream.componentSelectorLabels"',
      ),
    message:
      /spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/,
  },
  {
    name: 'port-range',
    chart: () =>
      brokenChart('port-range', 'deployment.yaml', 'containerPort: 8080', 'containerPort: 80800'),
    message: /containerPort: Invalid value: 80800: must be between 1 and 65535/,
  },
  {
    name: 'cel-rule',
    chart: () =>
      brokenChart(
        'cel-rule',
        'kafkauser.yaml',
        'type: scram-sha-512',
        'type: scram-sha-512\n    validityDays: 30',
      ),
    message:
      /spec\.authentication: Invalid value: .*'validityDays' and 'renewalDays' can be configured only with 'type: tls'/,
  },
  {
    name: 'pod-security',
    chart: () =>
      brokenChart(
        'pod-security',
        'tests/smoke-pod.yaml',
        /securityContext:\n\s+\{\{- include "icecream.containerSecurityContext" \. \| nindent 8 \}\}/,
        'securityContext:\n        allowPrivilegeEscalation: true',
      ),
    message: /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    viaTest: true,
  },
]

describe('the API server rejects what the static checks miss', () => {
  it.each(badCases)('$name', async (bad) => {
    const ns = `bad-${bad.name}`
    await restrictedNamespace(ns)
    const chart = bad.chart ? bad.chart() : env().chart
    const args = (bad.args ?? []).map((a) => (a.startsWith('ci/') ? path.join(env().chart, a) : a))
    // The static checks let it through: it renders and kubeconform finds nothing.
    const extra = bad.name === 'label-value' ? valueArgs('monitoring').slice(2) : []
    const rendered = helmTemplate(chart, [...args, ...extra])
    const kc = kubeconform(rendered)
    expect(kc.status, `kubeconform already catches ${bad.name}: ${kc.stdout}`).toBe(0)
    const r = install(ns, args, chart)
    const report = (stderr: string) =>
      process.stderr.write(
        `API server rejected ${bad.name}: ${stderr.split('\n').find((l) => l.startsWith('Error')) ?? stderr}\n`,
      )
    if (bad.viaTest) {
      expect(r.status, r.stderr).toBe(0)
      const t = helm(['test', 'icecream', '--namespace', ns, '--timeout', '5s'], true)
      expect(t.status).not.toBe(0)
      report(t.stderr)
      expect(t.stderr).toMatch(bad.message)
    } else {
      expect(r.status).not.toBe(0)
      report(r.stderr)
      expect(r.stderr).toMatch(bad.message)
    }
  })
})

// Bad value sets stop a real install before anything reaches the cluster.
const badValueSets: [string, string[], RegExp][] = [
  [
    'zero-brokers',
    ['--set', 'kafka.nodePool.replicas=0'],
    /at '\/kafka\/nodePool\/replicas': minimum/,
  ],
  [
    'rf-above-brokers',
    ['--set', 'kafka.nodePool.replicas=2'],
    /kafka.replicationFactor \(3\) cannot exceed kafka.nodePool.replicas \(2\)/,
  ],
  [
    'eck-crd-templates',
    ['--set', 'eck-operator.installCRDs=true'],
    /eck-operator\/installCRDs': value must be false/,
  ],
]

describe('a real install refuses bad value sets', () => {
  it.each(badValueSets)('%s', async (name, args, message) => {
    const ns = `badvalues-${name}`
    await restrictedNamespace(ns)
    const r = install(ns, args)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(message)
    const deployments = await api('GET', `/apis/apps/v1/namespaces/${ns}/deployments`)
    expect((deployments.body as { items: unknown[] }).items).toEqual([])
  })
})

function helmTemplate(chart: string, args: string[]): string {
  const r = helm(['template', 'icecream', chart, '--namespace', 'x', ...args])
  if (r.status !== 0) throw new Error(r.stderr)
  return r.stdout
}
