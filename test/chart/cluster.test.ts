// A real kube-apiserver (started by the global setup): real installs of every value set into
// namespaces enforcing the restricted Pod Security profile, a first release that runs the
// operators and later ones that reuse them, upgrades that keep the install's values, a
// re-install over the kept resources, the helm test hook Pods, an uninstall whose pre-delete hook
// orders the teardown (its Job played by the test: no kubelet here), and bad values / bad
// resources the API server rejects although the static checks let them through.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { serviceAccountConfig, teardown } from '../../runtime/kubernetes/teardown.ts'
import { kubeRequest, kubeWatch, type WatchEvent } from './apiserver.ts'
import {
  env,
  helm,
  helmInBackground,
  kubeconform,
  realChart,
  valueArgs,
  valueSets,
} from './chart.ts'
import { repoRoot } from './tools.ts'

const api = (method: string, urlPath: string, body?: unknown) =>
  kubeRequest(env(), method, urlPath, body)

/** Tests of the operators' own objects, which stand-ins do not render. */
const withOperators = it.skipIf(!realChart('strimzi-kafka-operator') || !realChart('eck-operator'))

/** The release that installs the operators; every other release reuses them. */
const first = 'set-defaults'

/** What a release beside the first one adds (chart/ci/second-release-values.yaml). */
const secondRelease = () => [
  '-f',
  path.join(env().chart, 'ci/second-release-values.yaml'),
  '--set',
  `networkPolicy.eckOperatorNamespace=${first}`,
]

const kafkaPath = (ns: string, plural: string, name = '') =>
  `/apis/kafka.strimzi.io/v1/namespaces/${ns}/${plural}${name && `/${name}`}`
const esPath = (ns: string, name = 'icecream') =>
  `/apis/elasticsearch.k8s.elastic.co/v1/namespaces/${ns}/elasticsearches/${name}`

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

/** Drops --api-versions pairs (helm install reads the cluster's). */
const installArgs = (args: string[]) =>
  args.filter((a, i, all) => a !== '--api-versions' && all[i - 1] !== '--api-versions')

/** helm install for real (no dry run), without waiting: nothing runs on this API server. */
function install(namespace: string, args: string[], chart = env().chart, release = 'icecream') {
  return helm(
    ['install', release, chart, '--namespace', namespace, '--timeout', '60s', ...args],
    true,
  )
}

/** A command from chart/README.md (the first line starting with `start`), as arguments. */
function readmeCommand(start: string): string[] {
  const readme = readFileSync(path.join(repoRoot, 'chart/README.md'), 'utf8')
  const line = readme.split('\n').find((l) => l.startsWith(start))
  if (!line) throw new Error(`chart/README.md has no line starting with "${start}"`)
  return line
    .replace(/\s+#.*$/, '')
    .trim()
    .split(/\s+/)
}

/** Runs the README's upgrade command on a release in `ns`, with `changes` as its values file. */
function readmeUpgrade(ns: string, changes: string): ReturnType<typeof helm> {
  const file = path.join(env().work, `${ns}-changes.yaml`)
  writeFileSync(file, changes)
  const [, ...args] = readmeCommand('helm upgrade ')
  const substituted = args.map((a) =>
    a === './chart' ? env().chart : a === 'shop' ? ns : a === 'my-changes.yaml' ? file : a,
  )
  return helm(substituted, true)
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

type Resource = {
  metadata: { uid: string; annotations?: Record<string, string> }
  spec: Record<string, unknown>
}
const get = async (urlPath: string) => {
  const r = await api('GET', urlPath)
  if (r.status !== 200) throw new Error(`GET ${urlPath}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body as unknown as Resource
}

/** A key of a Secret, decoded. */
const secretValue = async (ns: string, name: string, key: string) =>
  Buffer.from(
    (
      (await get(`/api/v1/namespaces/${ns}/secrets/${name}`)) as unknown as {
        data: Record<string, string>
      }
    ).data[key] ?? '',
    'base64',
  ).toString()

/** helm upgrade of release icecream in a namespace with the prepared chart. */
const upgrade = (ns: string, args: string[]) =>
  helm(['upgrade', 'icecream', env().chart, '--namespace', ns, ...args], true)

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
        installArgs([...valueArgs(set), ...(ns === first ? [] : secondRelease())]),
      )
      expect(r.stderr, r.stderr).not.toMatch(/violate PodSecurity/)
      expect(r.status, r.stderr).toBe(0)
      // NOTES.txt: how to reach /docs and how to run the helm tests.
      expect(r.stdout).toContain('/docs')
      expect(r.stdout).toContain(`helm test icecream -n ${ns} --logs`)
      expect((await api('GET', esPath(ns))).status).toBe(200)
      expect((await api('GET', kafkaPath(ns, 'kafkas', 'icecream'))).status).toBe(200)
    },
  )

  it('upgrades in place: the Elasticsearch keeps its uid, the app user its password', async () => {
    const ns = first
    const before = await get(esPath(ns))
    const password = () => secretValue(ns, 'icecream-es-consumer-user', 'password')
    const passwordBefore = await password()
    const r = upgrade(ns, [
      '--set',
      'elasticsearch.nodes=5',
      '--set',
      'kafka.topics.purchases.partitions=12',
      '--set',
      'api.autoscaling.maxReplicas=20',
    ])
    expect(r.status, r.stderr).toBe(0)
    const after = await get(esPath(ns))
    expect(after.metadata.uid).toBe(before.metadata.uid)
    expect((after.spec.nodeSets as { count: number }[])[0]?.count).toBe(5)
    const topic = await get(kafkaPath(ns, 'kafkatopics', 'icecream-purchases'))
    expect(topic.spec.partitions).toBe(12)
    expect(await password()).toBe(passwordBefore)
  })

  it("keeps the demo controls' token across an upgrade, and the pods' checksum of it", async () => {
    const ns = 'set-monitoring'
    const token = () => secretValue(ns, 'icecream-demo-control', 'token')
    const checksum = async () =>
      (
        (await get(`/apis/apps/v1/namespaces/${ns}/deployments/icecream-api`)) as unknown as {
          spec: { template: { metadata: { annotations: Record<string, string> } } }
        }
      ).spec.template.metadata.annotations['checksum/demo-control-token']
    const before = { token: await token(), checksum: await checksum() }
    expect(before.token).toMatch(/^[A-Za-z0-9]{32,}$/)
    const r = upgrade(ns, ['--reset-then-reuse-values', '--set', 'livePage.canaryIntervalMs=1000'])
    expect(r.status, r.stderr).toBe(0)
    expect({ token: await token(), checksum: await checksum() }).toEqual(before)
  })

  it("upgrades with the README's command: the install's image and pull secret stay, the change applies", async () => {
    const ns = 'upgrade-keeps-values'
    await restrictedNamespace(ns)
    const installed = install(ns, [
      ...secondRelease(),
      '--set',
      'image.tag=1.4.2',
      '--set',
      'imagePullSecrets={do-registry}',
    ])
    expect(installed.status, installed.stderr).toBe(0)
    const r = readmeUpgrade(ns, 'consumer:\n  concurrency: 6\n')
    expect(r.status, r.stderr).toBe(0)
    const consumer = (await get(`/apis/apps/v1/namespaces/${ns}/deployments/icecream-consumer`))
      .spec as {
      template: {
        spec: {
          imagePullSecrets: { name: string }[]
          containers: { image: string; env: { name: string; value?: string }[] }[]
        }
      }
    }
    const pod = consumer.template.spec
    expect(pod.containers[0]?.image).toBe('registry.digitalocean.com/icecream/icecream-queue:1.4.2')
    expect(pod.imagePullSecrets).toEqual([{ name: 'do-registry' }])
    expect(pod.containers[0]?.env).toContainEqual({ name: 'CONSUMER_CONCURRENCY', value: '6' })
    // The second-release values given at install are kept too: still no operator of its own.
    const manifest = helm(['get', 'manifest', 'icecream', '--namespace', ns], true).stdout
    expect(manifest).not.toMatch(/^kind: (ClusterRole|StatefulSet)$/m)
  })

  it('re-installs over the kept Kafka and Elasticsearch (same uids), never lowering a topic partition count', async () => {
    const ns = 'reinstall'
    await restrictedNamespace(ns)
    expect(install(ns, secondRelease()).status).toBe(0)
    expect(
      readmeUpgrade(ns, 'kafka:\n  topics:\n    purchases:\n      partitions: 12\n').status,
    ).toBe(0)
    const topicPath = kafkaPath(ns, 'kafkatopics', 'icecream-purchases')
    const kept = [esPath(ns), kafkaPath(ns, 'kafkas', 'icecream'), topicPath]
    const uids = await Promise.all(kept.map(async (p) => (await get(p)).metadata.uid))

    const gone = helm(['uninstall', 'icecream', '--namespace', ns], true)
    expect(gone.status, gone.stderr).toBe(0)
    expect(gone.stdout).toMatch(/These resources were kept due to the resource policy/)
    // The install values say 6 partitions; Kafka cannot take partitions away.
    const again = install(ns, secondRelease())
    expect(again.status, again.stderr).toBe(0)
    expect(await Promise.all(kept.map(async (p) => (await get(p)).metadata.uid))).toEqual(uids)
    expect((await get(topicPath)).spec.partitions).toBe(12)
    // A later upgrade may still add partitions.
    expect(
      readmeUpgrade(ns, 'kafka:\n  topics:\n    purchases:\n      partitions: 24\n').status,
    ).toBe(0)
    expect((await get(topicPath)).spec.partitions).toBe(24)
  })

  it('creates the three helm test Pods, well formed (Pending: no kubelet here)', async () => {
    const ns = first
    const pods = ['icecream-test-elasticsearch', 'icecream-test-kafka', 'icecream-test-purchase']
    for (const name of pods) {
      // helm test waits for each Pod in turn: one at a time, each given up on at once.
      const r = helm(
        ['test', 'icecream', '--namespace', ns, '--timeout', '2s', '--filter', `name=${name}`],
        true,
      )
      expect(r.stderr).not.toMatch(/forbidden|violates PodSecurity/)
      const pod = await get(`/api/v1/namespaces/${ns}/pods/${name}`)
      expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test')
      expect((pod as unknown as { status: { phase: string } }).status.phase).toBe('Pending')
      const containers = pod.spec.containers as { image: string; command: string[] }[]
      for (const c of containers) {
        expect(c.image).toBe('registry.digitalocean.com/icecream/icecream-queue:0.1.0')
        expect(c.command[0]).toBe('node')
      }
    }
  })

  it('helm uninstall of a release beside the first keeps Kafka and Elasticsearch (resource-policy keep), removes the app', async () => {
    const ns = 'set-tls'
    const r = helm(['uninstall', 'icecream', '--namespace', ns], true)
    expect(r.status, r.stderr).toBe(0)
    expect((await api('GET', esPath(ns))).status).toBe(200)
    expect((await api('GET', kafkaPath(ns, 'kafkas', 'icecream'))).status).toBe(200)
    expect(
      (await api('GET', `/apis/apps/v1/namespaces/${ns}/deployments/icecream-api`)).status,
    ).toBe(404)
  })
})

describe('more than one release', () => {
  withOperators(
    "refuses a second release that brings its own operators: their cluster-wide objects' names are fixed",
    async () => {
      const ns = 'second-with-operators'
      await restrictedNamespace(ns)
      const r = install(ns, [])
      expect(r.status).not.toBe(0)
      expect(r.stderr).toMatch(
        /ClusterRole "(strimzi|elastic-operator)[^"]*" in namespace "" exists and cannot be imported into the current release/,
      )
    },
  )

  withOperators(
    "lets the second release's namespace be watched by the first release's Strimzi, and its Elasticsearch be reached by the first release's ECK",
    async () => {
      const ns = 'set-second-release'
      const r = upgrade(first, [
        '--reset-then-reuse-values',
        '--set-json',
        `strimzi-kafka-operator.watchNamespaces=["${ns}"]`,
      ])
      expect(r.status, r.stderr).toBe(0)
      const binding = (await get(
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/strimzi-cluster-operator`,
      )) as unknown as { subjects: unknown[]; roleRef: { name: string } }
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'strimzi-cluster-operator', namespace: first },
      ])
      const operator = (await get(
        `/apis/apps/v1/namespaces/${first}/deployments/strimzi-cluster-operator`,
      )) as unknown as {
        spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }
      }
      expect(
        operator.spec.template.spec.containers[0]?.env.find((e) => e.name === 'STRIMZI_NAMESPACE')
          ?.value,
      ).toBe([first, ns].sort().join(','))
      const policy = (await get(
        `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/icecream-elasticsearch`,
      )) as unknown as { spec: { ingress: { from: { namespaceSelector?: unknown }[] }[] } }
      expect(policy.spec.ingress[0]?.from.map((p) => p.namespaceSelector).filter(Boolean)).toEqual([
        { matchLabels: { 'kubernetes.io/metadata.name': first } },
      ])
    },
  )

  it('installs a second release in the same namespace as the first: no object name collides', async () => {
    const r = install(first, secondRelease(), env().chart, 'icecream-b')
    expect(r.status, r.stderr).toBe(0)
    expect((await api('GET', esPath(first, 'icecream-b'))).status).toBe(200)
    expect(
      (await api('GET', kafkaPath(first, 'kafkanodepools', 'icecream-b-dual-role'))).status,
    ).toBe(200)
    expect(helm(['uninstall', 'icecream-b', '--namespace', first], true).status).toBe(0)
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
        'tests/_tests.tpl',
        /securityContext:\n\s+\{\{- include "icecream.containerSecurityContext" \$root \| nindent 8 \}\}/,
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
    const r = install(ns, [...args, ...secondRelease()], chart)
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
    const r = install(ns, [...secondRelease(), ...args])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(message)
    const deployments = await api('GET', `/apis/apps/v1/namespaces/${ns}/deployments`)
    expect((deployments.body as { items: unknown[] }).items).toEqual([])
  })
})

type Outcome = 'released' | 'stuck'

/**
 * Plays Strimzi's Topic Operator for the KafkaTopics of release "icecream" in `ns`: it puts its finalizer on them, and
 * lets a deleted one go only if the operators still run (the Strimzi operator's Deployment
 * exists), as the real one can only then. `outcome(name)` settles once a topic was deleted.
 */
async function topicOperator(ns: string) {
  const finalizer = 'strimzi.io/topic-operator'
  const topics = kafkaPath(ns, 'kafkatopics')
  const release = `?labelSelector=${encodeURIComponent('app.kubernetes.io/instance=icecream')}`
  const items = (
    (await api('GET', `${topics}${release}`)).body as { items: WatchEvent['object'][] }
  ).items
  const names = items.map((t) => t.metadata.name)
  const settle = new Map<string, (outcome: Outcome) => void>()
  const outcomes = new Map(
    names.map((name) => [name, new Promise<Outcome>((resolve) => settle.set(name, resolve))]),
  )
  for (const name of names) {
    await api('PATCH', `${topics}/${name}`, { metadata: { finalizers: [finalizer] } })
  }
  const stop = await kubeWatch(env(), topics, (event) => {
    const { name, deletionTimestamp } = event.object.metadata
    const decide = settle.get(name)
    if (!deletionTimestamp || !decide) return
    settle.delete(name)
    void api('GET', `/apis/apps/v1/namespaces/${ns}/deployments/strimzi-cluster-operator`).then(
      async (operator) => {
        if (operator.status !== 200) return decide('stuck')
        await api('PATCH', `${topics}/${name}`, { metadata: { finalizers: null } })
        decide('released')
      },
    )
  })
  return { names, outcome: (name: string) => outcomes.get(name), stop }
}

describe('helm uninstall with the operators in the release', () => {
  withOperators(
    'runs the pre-delete hook: the Kafka and Elasticsearch resources go while the operators run, then Helm removes the operators',
    async () => {
      const ns = first
      // Data not kept, so that everything goes; the second releases no longer need the operators.
      const upgraded = upgrade(ns, [
        '--reset-then-reuse-values',
        '--set',
        'keepDataOnUninstall=false',
      ])
      expect(upgraded.status, upgraded.stderr).toBe(0)
      const operator = await topicOperator(ns)
      expect(operator.names).toEqual([
        'icecream-consumers-control',
        'icecream-purchases',
        'icecream-purchases-dead-letter',
      ])

      const uninstall = helmInBackground([
        'uninstall',
        'icecream',
        '--namespace',
        ns,
        '--timeout',
        '60s',
      ])
      // The kubelet's part: run the hook Job's container, with the Job's own service account.
      const jobs = `/apis/batch/v1/namespaces/${ns}/jobs`
      let stopWatchingJobs = () => {}
      const job = await Promise.race([
        new Promise<WatchEvent['object']>((resolve, reject) => {
          kubeWatch(env(), jobs, (event) => {
            if (event.type === 'ADDED' && event.object.metadata.name === 'icecream-teardown')
              resolve(event.object)
          }).then((stop) => {
            stopWatchingJobs = stop
          }, reject)
        }),
        uninstall.then((early) => {
          throw new Error(`helm uninstall ended before its hook Job appeared: ${early.stderr}`)
        }),
      ])
      stopWatchingJobs()
      const container = (
        job.spec as {
          template: { spec: { containers: { env: { name: string; value: string }[] }[] } }
        }
      ).template.spec.containers[0]
      const jobEnv = Object.fromEntries(container?.env.map((e) => [e.name, e.value]) ?? [])
      const token = await api(
        'POST',
        `/api/v1/namespaces/${ns}/serviceaccounts/icecream-teardown/token`,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
      )
      expect(token.status, JSON.stringify(token.body)).toBe(201)
      // The Job's projected volume: its service account's token and the cluster's CA.
      const serviceAccount = mkdtempSync(path.join(tmpdir(), 'teardown-'))
      writeFileSync(
        path.join(serviceAccount, 'token'),
        (token.body.status as { token: string }).token,
      )
      copyFileSync(env().caFile, path.join(serviceAccount, 'ca.crt'))
      const log: string[] = []
      await teardown(serviceAccountConfig(env().server, serviceAccount), {
        namespace: jobEnv.TEARDOWN_NAMESPACE as string,
        selector: jobEnv.TEARDOWN_SELECTOR as string,
        steps: JSON.parse(jobEnv.TEARDOWN_STEPS as string) as string[][],
        timeoutMs: 30_000,
        log: (line) => log.push(line),
      })
      rmSync(serviceAccount, { recursive: true })
      const now = new Date().toISOString()
      const completed = await api('PATCH', `${jobs}/icecream-teardown/status`, {
        status: {
          startTime: now,
          completionTime: now,
          succeeded: 1,
          conditions: [
            { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now },
            { type: 'Complete', status: 'True', lastTransitionTime: now },
          ],
        },
      })
      expect(completed.status, JSON.stringify(completed.body)).toBe(200)
      const r = await uninstall
      expect(r.status, r.stderr).toBe(0)
      for (const name of operator.names) expect(await operator.outcome(name), name).toBe('released')
      operator.stop()
      expect(log).toContain(
        'gone: elasticsearch.k8s.elastic.co/v1/elasticsearches, kafka.strimzi.io/v1/kafkanodepools, kafka.strimzi.io/v1/kafkas',
      )
      for (const p of [
        esPath(ns),
        kafkaPath(ns, 'kafkas', 'icecream'),
        kafkaPath(ns, 'kafkatopics', 'icecream-purchases'),
      ])
        expect((await api('GET', p)).status, p).toBe(404)
      // Then Helm removed the operators, and the hook's own objects once it succeeded.
      for (const p of [
        `/apis/apps/v1/namespaces/${ns}/deployments/strimzi-cluster-operator`,
        `${jobs}/icecream-teardown`,
        `/api/v1/namespaces/${ns}/serviceaccounts/icecream-teardown`,
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/icecream-teardown`,
      ])
        expect((await api('GET', p)).status, p).toBe(404)
    },
  )

  withOperators(
    'without the hook, the KafkaTopics are left stuck: Helm removes the operators first',
    async () => {
      const ns = 'no-teardown-hook'
      await restrictedNamespace(ns)
      const installed = install(ns, [
        '--set',
        'uninstallHook.enabled=false',
        '--set',
        'keepDataOnUninstall=false',
      ])
      expect(installed.status, installed.stderr).toBe(0)
      const operator = await topicOperator(ns)
      const r = helm(['uninstall', 'icecream', '--namespace', ns], true)
      expect(r.status, r.stderr).toBe(0)
      const topic = kafkaPath(ns, 'kafkatopics', 'icecream-purchases')
      expect(await operator.outcome('icecream-purchases')).toBe('stuck')
      operator.stop()
      const stuck = (await get(topic)) as unknown as WatchEvent['object']
      expect(stuck.metadata.deletionTimestamp).toBeTruthy()
      // Clean up by hand, as an operator-less cluster's admin would have to.
      for (const name of operator.names)
        await api('PATCH', kafkaPath(ns, 'kafkatopics', name), { metadata: { finalizers: null } })
    },
  )
})

function helmTemplate(chart: string, args: string[]): string {
  const r = helm(['template', 'icecream', chart, '--namespace', 'x', ...args])
  if (r.status !== 0) throw new Error(r.stderr)
  return r.stdout
}
