// Bad values are rejected before anything reaches a cluster: by values.schema.json, or by the
// chart's own cross-field checks, each with a message naming the value.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { env, helm } from './chart.ts'
import { chartSource } from './tools.ts'

const rejected: [string, string[], RegExp][] = [
  [
    'an unknown top-level key',
    ['--set', 'replicaCount=3'],
    /additional properties 'replicaCount' not allowed/,
  ],
  [
    'a misspelt nested key',
    ['--set', 'kafka.nodePool.replica=3'],
    /kafka\/nodePool.*additional properties 'replica' not allowed/,
  ],
  [
    'zero Kafka nodes',
    ['--set', 'kafka.nodePool.replicas=0'],
    /kafka\/nodePool\/replicas.*minimum/,
  ],
  [
    'a Kafka version Strimzi 1.2 cannot run',
    ['--set', 'kafka.version=3.9.0'],
    /kafka\/version.*does not match pattern/,
  ],
  [
    'zero partitions',
    ['--set', 'kafka.topics.purchases.partitions=0'],
    /kafka\/topics\/purchases\/partitions.*minimum/,
  ],
  [
    'a topic name Kafka refuses',
    // The schema library names a wrong place for a bad property name, so only its words are checked.
    ['--set-json', 'kafka.topics={"bad topic":{"partitions":3}}'],
    /invalid propertyName 'bad topic'[\s\S]*does not match pattern/,
  ],
  [
    'a subscriber set in the values (the app declares them)',
    ['--set-json', 'kafka.subscribers=[{"topic":"purchases","group":"g","deadLetter":null}]'],
    /kafka.*additional properties 'subscribers' not allowed/,
  ],
  [
    'a volume size without unit',
    ['--set', 'elasticsearch.storageSize=20GB'],
    /elasticsearch\/storageSize.*does not match pattern/,
  ],
  [
    'an unknown Service type',
    ['--set', 'api.service.type=Ingress'],
    /api\/service\/type.*value must be one of/,
  ],
  ['a port out of range', ['--set', 'api.service.port=70000'], /api\/service\/port.*maximum/],
  [
    'a memory request that is not a quantity',
    ['--set', 'api.resources.requests.memory=lots'],
    /api\/resources\/requests\/memory/,
  ],
  [
    'a node pool without brokers',
    ['--set-json', 'kafka.nodePool.roles=["controller"]'],
    /kafka\/nodePool\/roles/,
  ],
  [
    'ECK CRDs from templates (breaks the first install)',
    ['--set', 'eck-operator.installCRDs=true'],
    /eck-operator\/installCRDs.*value must be false|eck-operator\/installCRDs.*const/,
  ],
  ['an unknown log level', ['--set', 'logLevel=loud'], /logLevel.*value must be one of/],
  [
    'a string where a number belongs',
    ['--set-string', 'consumer.replicas=two'],
    /consumer\/replicas.*got string, want integer/,
  ],
  [
    'a misspelt test switch',
    ['--set', 'tests.enable=false'],
    /tests.*additional properties 'enable' not allowed/,
  ],
  [
    'a DNS peer that is not a NetworkPolicy peer',
    ['--set-json', 'networkPolicy.dnsPeers=[{"namespace":"kube-system"}]'],
    /networkPolicy\/dnsPeers\/0.*additional properties 'namespace' not allowed/,
  ],
  [
    'a namespace name Kubernetes refuses',
    ['--set', 'networkPolicy.eckOperatorNamespace=Elastic_System'],
    /networkPolicy\/eckOperatorNamespace.*does not match pattern/,
  ],
  [
    'a negative canary interval',
    ['--set', 'livePage.canaryIntervalMs=-1'],
    /livePage\/canaryIntervalMs.*minimum/,
  ],
  [
    'an alert duration Prometheus cannot read',
    ['--set', 'monitoring.alerts.lagGrowingFor=10 minutes'],
    /monitoring\/alerts\/lagGrowingFor.*does not match pattern/,
  ],
  [
    'an API error ratio above 1',
    ['--set', 'monitoring.alerts.apiErrorRatio=5'],
    /monitoring\/alerts\/apiErrorRatio.*maximum/,
  ],
  [
    'a token Secret name Kubernetes refuses',
    ['--set', 'demoControls.existingSecret=My_Token'],
    /demoControls\/existingSecret.*does not match pattern/,
  ],
  [
    'an ECK operator pod without a seccomp profile (Pod Security restricted refuses it)',
    ['--set', 'eck-operator.podSecurityContext.seccompProfile=null'],
    /eck-operator\/podSecurityContext\/seccompProfile': got null, want object/,
  ],
]

const failedChecks: [string, string[], RegExp][] = [
  [
    'replication above the broker count',
    ['--set', 'kafka.nodePool.replicas=2'],
    /kafka.replicationFactor \(3\) cannot exceed kafka.nodePool.replicas \(2\)/,
  ],
  [
    'min ISR above replication',
    ['--set', 'kafka.minInsyncReplicas=4'],
    /kafka.minInsyncReplicas \(4\) cannot exceed kafka.replicationFactor \(3\)/,
  ],
  [
    'KEDA max replicas above the partitions',
    [
      '--set',
      'autoscaling.keda.enabled=true',
      '--set',
      'autoscaling.keda.maxReplicas=12',
      '--api-versions',
      'keda.sh/v1alpha1/ScaledObject',
    ],
    /autoscaling.keda.maxReplicas \(12\) cannot exceed kafka.topics.purchases.partitions \(6\)/,
  ],
  [
    'topic replicas above the broker count',
    ['--set', 'kafka.nodePool.replicas=3', '--set', 'kafka.topics.purchases.replicas=4'],
    /kafka.topics.purchases.replicas \(4\) cannot exceed kafka.nodePool.replicas \(3\)/,
  ],
  [
    "a topic's min ISR above its replicas",
    ['--set', 'kafka.topics.purchases.config.min\\.insync\\.replicas=4'],
    /kafka.topics.purchases.config.min.insync.replicas \(4\) cannot exceed its replicas \(3\)/,
  ],
  [
    'an override of a topic the app does not declare',
    ['--set', 'kafka.topics.refunds.partitions=3'],
    /kafka.topics.refunds: the app declares no such topic \(it declares .*purchases.*\)/,
  ],
  [
    'Kafka pod names over 63 characters',
    ['--set', 'fullnameOverride=a-rather-long-full-name-for-a-release-xx'],
    /the Kafka pod names \(a-rather-long-full-name-for-a-release-xx-a-rather-long-full-name-for-a-release-xx-dual-role-9999\) would exceed 63 characters/,
  ],
  [
    "another release's ECK without its namespace",
    ['--set', 'eck-operator.enabled=false'],
    /set networkPolicy.eckOperatorNamespace to the namespace where the ECK operator runs/,
  ],
  [
    'HPA min above max',
    ['--set', 'api.autoscaling.minReplicas=5', '--set', 'api.autoscaling.maxReplicas=3'],
    /minReplicas cannot exceed/,
  ],
]

describe('values.schema.json rejects', () => {
  it.each(rejected)('%s', (_name, args, message) => {
    const r = helm(['template', 'icecream', env().chart, ...args])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/)
    expect(r.stderr).toMatch(message)
  })
})

describe("the chart's own checks reject", () => {
  it.each(failedChecks)('%s', (_name, args, message) => {
    const r = helm(['template', 'icecream', env().chart, ...args])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(message)
  })
})

describe('Chart.lock', () => {
  // helm dependency build checks the lock's digest first, then needs the repositories (here
  // unreachable). Reaching the repository step means the committed lock matches Chart.yaml.
  const lockCopy = (digest?: (d: string) => string) => {
    const dir = mkdtempSync(path.join(env().work, 'lock-'))
    mkdirSync(path.join(dir, 'eck-crds'))
    for (const f of ['Chart.yaml', 'Chart.lock', 'eck-crds/Chart.yaml']) {
      cpSync(path.join(chartSource, f), path.join(dir, f))
    }
    if (digest) {
      const lock = path.join(dir, 'Chart.lock')
      writeFileSync(
        lock,
        readFileSync(lock, 'utf8').replace(
          /digest: (\S+)/,
          (_m, d: string) => `digest: ${digest(d)}`,
        ),
      )
    }
    const config = path.join(env().work, 'helm/config/repositories.yaml')
    writeFileSync(
      config,
      'apiVersion: ""\nrepositories:\n  - name: elastic\n    url: https://helm.elastic.co\n',
    )
    return helm(['dependency', 'build', dir, '--skip-refresh'])
  }

  it('matches Chart.yaml: helm dependency build gets past the digest check', () => {
    const r = lockCopy()
    expect(r.stderr).not.toMatch(/out of sync/)
    expect(r.stderr).toMatch(/elastic-index\.yaml|no such host|dial tcp/)
  })

  it('is really checked: a changed digest is reported out of sync', () => {
    const r = lockCopy((d) => d.replace(/.$/, (c) => (c === '0' ? '1' : '0')))
    expect(r.stderr).toMatch(/the lock file \(Chart.lock\) is out of sync/)
  })
})
