// Static checks: helm lint --strict, helm template over every value set, kubeconform against
// offline schemas, and unit assertions on what matters in the rendered objects.
import { cpSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { topics } from '../../handlers/topics.ts'
import { environmentVariables } from '../../runtime/config.ts'
import { loadSubscribers } from '../../runtime/load-handlers.ts'
import { readmeWithTable, valueDocs, valuesTable } from '../../scripts/chart/values-doc.ts'
import {
  elasticsearchRole,
  elasticsearchRoles,
  kafkaAcls,
  readPrivileges,
} from '../../scripts/local-stack/privileges.ts'
import {
  env,
  find,
  helm,
  kubeconform,
  type Manifest,
  render,
  valueArgs,
  valueSets,
} from './chart.ts'
import { repoRoot } from './tools.ts'

const sizes: Record<string, string> = {}

describe.each(Object.keys(valueSets))('value set %s', (set) => {
  it('passes helm lint --strict', () => {
    // helm lint has no --api-versions; in lint mode Helm logs a template's `fail` instead of
    // failing, so the add-on guards (KEDA, Prometheus Operator) do not stop it.
    const args = valueArgs(set).filter(
      (a, i, all) => a !== '--api-versions' && all[i - 1] !== '--api-versions',
    )
    const r = helm(['lint', '--strict', env().chart, ...args])
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toContain(
      '1 chart(s) linted, 0 chart(s) failed',
    )
    expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/)
    expect(r.status).toBe(0)
  })

  it('renders objects that kubeconform validates against the Kubernetes and CRD schemas', () => {
    const { yaml, docs } = render(valueArgs(set))
    sizes[set] = `${docs.length} objects, ${(Buffer.byteLength(yaml) / 1024).toFixed(1)} KiB`
    process.stderr.write(`helm template ${set}: ${sizes[set]}\n`)
    const r = kubeconform(yaml)
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/)
    expect(r.status).toBe(0)
  })
})

describe('rendered defaults', () => {
  const docs = () => render([]).docs
  const deployments = (d: Manifest[]) => d.filter((m) => m.kind === 'Deployment')

  it('runs every pod non-root, read-only, without capabilities, seccomp RuntimeDefault, with resources', () => {
    const all = render([]).docs
    const tests = parseHooks()
    const pods = [...deployments(all).map((d) => d.spec.template.spec), ...tests.map((t) => t.spec)]
    expect(pods.length).toBe(3)
    for (const pod of pods) {
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      })
      expect(pod.automountServiceAccountToken).toBe(false)
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        })
        expect(c.resources.requests.cpu).toBeTruthy()
        expect(c.resources.requests.memory).toBeTruthy()
        expect(c.resources.limits.memory).toBeTruthy()
        const tmp = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp')
        expect(tmp, 'a writable /tmp').toBeTruthy()
        expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeTruthy()
      }
    }
  })

  it('probes /healthz for liveness and /readyz for readiness on both roles', () => {
    for (const role of ['api', 'consumer']) {
      const c = find(docs(), 'Deployment', `icecream-${role}`).spec.template.spec.containers[0]
      expect(c.command).toEqual(['node', 'dist/runtime/main.js'])
      expect(c.env.find((e: { name: string }) => e.name === 'ROLE').value).toBe(role)
      expect(c.livenessProbe.httpGet.path).toBe('/healthz')
      expect(c.readinessProbe.httpGet.path).toBe('/readyz')
    }
  })

  it('labels every object with the recommended labels, and selectors match pod labels', () => {
    for (const d of docs()) {
      const labels = d.metadata.labels ?? {}
      expect(labels['app.kubernetes.io/instance'], `${d.kind} ${d.metadata.name}`).toBe('icecream')
      expect(labels['app.kubernetes.io/managed-by']).toBe('Helm')
      expect(labels['helm.sh/chart']).toMatch(/^icecream-/)
    }
    for (const d of docs().filter((m) => m.kind === 'Deployment')) {
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels)
    }
  })

  it('sets only variables the app reads, the tuning ones from values.yaml', () => {
    const all = docs()
    const container = (name: string) =>
      find(all, 'Deployment', name).spec.template.spec.containers[0] as {
        env: { name: string; value?: string }[]
      }
    const [api, consumer] = [container('icecream-api'), container('icecream-consumer')]
    const names = [
      ...Object.keys(find(all, 'ConfigMap', 'icecream-config').data),
      ...api.env.map((e) => e.name),
      ...consumer.env.map((e) => e.name),
    ]
    expect(names.filter((name) => !environmentVariables.includes(name))).toEqual([])
    const value = (c: typeof api, name: string) => c.env.find((e) => e.name === name)?.value
    expect(value(api, 'PUBLISH_MAX_BATCH')).toBe('500')
    expect(value(api, 'PUBLISH_TIMEOUT_MS')).toBe('5000')
    expect(value(consumer, 'CONSUMER_CONCURRENCY')).toBe('3')
    const tuned = render(['--set', 'consumer.concurrency=6']).docs
    const tunedConsumer = find(tuned, 'Deployment', 'icecream-consumer').spec.template.spec
      .containers[0]
    expect(value(tunedConsumer, 'CONSUMER_CONCURRENCY')).toBe('6')
  })

  it("references passwords from the operators' Secrets and never inlines them", () => {
    const all = docs()
    const api = find(all, 'Deployment', 'icecream-api').spec.template.spec.containers[0]
    const consumer = find(all, 'Deployment', 'icecream-consumer').spec.template.spec.containers[0]
    const ref = (
      c: { env: { name: string; valueFrom?: unknown; value?: string }[] },
      name: string,
    ) => c.env.find((e) => e.name === name)
    expect(ref(api, 'KAFKA_PASSWORD')?.valueFrom).toEqual({
      secretKeyRef: { name: 'icecream-api', key: 'password' },
    })
    expect(ref(consumer, 'KAFKA_PASSWORD')?.valueFrom).toEqual({
      secretKeyRef: { name: 'icecream-consumer', key: 'password' },
    })
    expect(ref(api, 'ELASTICSEARCH_PASSWORD')?.valueFrom).toEqual({
      secretKeyRef: { name: 'icecream-es-api-user', key: 'password' },
    })
    for (const c of [api, consumer]) {
      for (const e of c.env)
        expect(e.name.includes('PASSWORD') ? e.value : undefined).toBeUndefined()
    }
    const config = find(all, 'ConfigMap', 'icecream-config').data
    expect(Object.keys(config).filter((k) => /PASSWORD|SECRET|TOKEN/.test(k))).toEqual([])
    expect(config.KAFKA_BROKERS).toBe('icecream-kafka-bootstrap.shop.svc:9092')
    expect(config.ELASTICSEARCH_URL).toBe('https://icecream-es-http.shop.svc:9200')
    const esCa = find(all, 'Deployment', 'icecream-api').spec.template.spec.volumes.find(
      (v: { name: string }) => v.name === 'es-ca',
    )
    expect(esCa.secret.secretName).toBe('icecream-es-http-certs-public')
    // The values carry no password at all.
    expect(readFileSync(path.join(env().chart, 'values.yaml'), 'utf8')).not.toMatch(/password:/i)
  })

  it('grants exactly the ACLs and Elasticsearch roles the local stack applies', async () => {
    const all = docs()
    const privileges = await readPrivileges()
    const rendered = (['api', 'consumer'] as const).flatMap((identity) =>
      find(all, 'KafkaUser', `icecream-${identity}`).spec.authorization.acls.map(
        (a: {
          type: string
          resource: { type: 'topic' | 'group'; name: string; patternType: string }
          operations: string[]
        }) => {
          expect(a.type).toBe('allow')
          expect(a.resource.patternType).toBe('literal')
          return {
            principal: `User:${identity}`,
            resourceType: a.resource.type,
            name: a.resource.name,
            operations: [...a.operations].sort(),
          }
        },
      ),
    )
    expect(rendered).toEqual(kafkaAcls(privileges, { api: 'api', consumer: 'consumer' }))
    for (const u of all.filter((d) => d.kind === 'KafkaUser')) {
      expect(u.spec.authentication.type).toBe('scram-sha-512')
      expect(u.metadata.labels?.['strimzi.io/cluster']).toBe('icecream')
    }

    const roles = parse(find(all, 'Secret', 'icecream-es-roles').stringData['roles.yml'])
    expect(roles).toEqual(elasticsearchRoles(privileges, 'purchases'))
    for (const identity of ['api', 'consumer', 'setup']) {
      const user = find(all, 'Secret', `icecream-es-${identity}-user`)
      expect(user.type).toBe('kubernetes.io/basic-auth')
      expect(user.stringData.roles).toBe(elasticsearchRole(identity as 'api'))
    }
    const fileRealm = find(all, 'Elasticsearch').spec.auth.fileRealm.map(
      (r: { secretName: string }) => r.secretName,
    )
    expect(fileRealm).toEqual(['api', 'consumer', 'setup'].map((i) => `icecream-es-${i}-user`))
  })

  it('runs the store setup as a Job of its own identity, and each Deployment as its own', () => {
    const all = docs()
    const job = find(all, 'Job', 'icecream-store-setup-1').spec.template.spec
    const env = (c: { env: { name: string; value?: string; valueFrom?: unknown }[] }) =>
      Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]))
    expect(env(job.containers[0])).toMatchObject({
      ROLE: 'setup',
      KAFKA_SASL_MECHANISM: 'none',
      ELASTICSEARCH_USERNAME: 'icecream-setup',
      ELASTICSEARCH_PASSWORD: { secretKeyRef: { name: 'icecream-es-setup-user', key: 'password' } },
    })
    for (const role of ['api', 'consumer']) {
      const container = find(all, 'Deployment', `icecream-${role}`).spec.template.spec.containers[0]
      expect(env(container)).toMatchObject({
        ROLE: role,
        ELASTICSEARCH_USERNAME: `icecream-${role}`,
        ELASTICSEARCH_PASSWORD: {
          secretKeyRef: { name: `icecream-es-${role}-user`, key: 'password' },
        },
      })
    }
  })

  it('renders the topics of handlers/topics.ts and ACLs for the subscribers of handlers/subscribers/', async () => {
    const all = docs()
    const asStrings = (config: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(config).map(([key, value]) => [key, String(value)]))
    const rendered = all
      .filter((d) => d.kind === 'KafkaTopic')
      .map((t) => ({
        name: t.spec.topicName,
        partitions: t.spec.partitions,
        replicas: t.spec.replicas,
        config: asStrings(t.spec.config),
      }))
    const declared = Object.entries(topics).map(([name, topic]) => ({
      name,
      partitions: topic.partitions,
      replicas: topic.replicationFactor,
      config: asStrings(topic.config),
    }))
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)
    expect(rendered.sort(byName)).toEqual(declared.sort(byName))

    const subscribers = await loadSubscribers()
    const granted = (type: string, operation: string) =>
      find(all, 'KafkaUser', 'icecream-consumer')
        .spec.authorization.acls.filter(
          (a: { resource: { type: string }; operations: string[] }) =>
            a.resource.type === type && a.operations.includes(operation),
        )
        .map((a: { resource: { name: string } }) => a.resource.name)
        .sort()
    expect(granted('group', 'Read')).toEqual(subscribers.map((s) => s.group).sort())
    expect(granted('topic', 'Read')).toEqual(subscribers.map((s) => s.topic).sort())
    expect(granted('topic', 'Write')).toEqual(
      subscribers.flatMap((s) => (s.deadLetter ? [s.deadLetter] : [])).sort(),
    )
  })

  it('configures Kafka: SCRAM listener, simple authorization, RF 3, min ISR 2, metrics, exporter', () => {
    const all = docs()
    const kafka = find(all, 'Kafka')
    expect(kafka.spec.kafka.version).toBe(readVersions().kafka)
    expect(kafka.spec.kafka.listeners[0]).toMatchObject({
      type: 'internal',
      tls: false,
      authentication: { type: 'scram-sha-512' },
    })
    expect(kafka.spec.kafka.authorization.type).toBe('simple')
    expect(kafka.spec.kafka.config['default.replication.factor']).toBe(3)
    expect(kafka.spec.kafka.config['min.insync.replicas']).toBe(2)
    expect(kafka.spec.kafka.metricsConfig.type).toBe('strimziMetricsReporter')
    expect(kafka.spec.kafkaExporter).toBeTruthy()
    expect(kafka.spec.entityOperator.topicOperator).toBeTruthy()
    const pool = find(all, 'KafkaNodePool')
    expect(pool.spec).toMatchObject({
      replicas: 3,
      roles: ['controller', 'broker'],
      storage: { type: 'persistent-claim', deleteClaim: false },
    })
    const topics = all
      .filter((d) => d.kind === 'KafkaTopic')
      .map((t) => [t.spec.topicName, t.spec.partitions, t.spec.replicas])
    expect(topics).toEqual([
      ['purchases', 6, 3],
      ['purchases.dead-letter', 1, 3],
    ])
  })

  it('keeps data: resource-policy keep on Kafka and Elasticsearch, claims that outlive them', () => {
    const all = docs()
    for (const kind of ['Kafka', 'KafkaNodePool', 'KafkaTopic', 'Elasticsearch']) {
      expect(find(all, kind).metadata.annotations?.['helm.sh/resource-policy'], kind).toBe('keep')
    }
    const es = find(all, 'Elasticsearch')
    expect(es.spec.volumeClaimDeletePolicy).toBe('DeleteOnScaledownOnly')
    expect(es.spec.version).toBe(readVersions().elasticsearch)
    expect(es.spec.nodeSets[0].count).toBe(3)
    expect(es.spec.podDisruptionBudget.spec.maxUnavailable).toBe(1)
  })

  it("solves ECK ordering: CRDs from the eck-crds chart's crds/, none in templates, Elasticsearch a plain resource", () => {
    const all = docs()
    expect(all.filter((d) => d.kind === 'CustomResourceDefinition')).toEqual([])
    const es = find(all, 'Elasticsearch')
    expect(es.metadata.annotations?.['helm.sh/hook']).toBeUndefined()
    const crds = readFileSync(path.join(env().chart, 'eck-crds/crds/eck-crds.yaml'), 'utf8')
    expect(crds).toContain('name: elasticsearches.elasticsearch.k8s.elastic.co')
    expect(crds.match(/^kind: CustomResourceDefinition$/gm)?.length).toBe(12)
    // With ECK's own CRD templates switched on, the same render would also carry them: the
    // eck-operator dependency must keep installCRDs false.
    const withTemplates = render([
      '--set',
      'eck-operator.installCRDs=true',
      '--skip-schema-validation',
    ]).docs
    expect(withTemplates.filter((d) => d.kind === 'CustomResourceDefinition').length).toBe(12)
  })

  it('refuses to render when eck-crds has no CRDs (plain helm dependency build without prepare.sh)', () => {
    const dir = path.join(env().work, 'no-eck-crds')
    cpSync(env().chart, dir, { recursive: true })
    rmSync(path.join(dir, 'charts/eck-crds-3.5.0.tgz'))
    cpSync(
      path.join(repoRoot, 'chart/eck-crds/Chart.yaml'),
      path.join(dir, 'charts/eck-crds/Chart.yaml'),
    )
    cpSync(
      path.join(repoRoot, 'chart/eck-crds/templates'),
      path.join(dir, 'charts/eck-crds/templates'),
      {
        recursive: true,
      },
    )
    const r = helm(['template', 'icecream', dir])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('eck-crds: crds/ is empty. Run scripts/chart/prepare.sh')
  })

  it('exposes the API through a LoadBalancer with an HPA and PDBs; NetworkPolicies guard Elasticsearch and Kafka', () => {
    const all = docs()
    const svc = find(all, 'Service', 'icecream-api')
    expect(svc.spec.type).toBe('LoadBalancer')
    expect(
      svc.metadata.annotations?.['service.beta.kubernetes.io/do-loadbalancer-healthcheck-path'],
    ).toBe('/readyz')
    expect(find(all, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name).toBe('icecream-api')
    expect(find(all, 'Deployment', 'icecream-api').spec.replicas).toBeUndefined()
    expect(all.filter((d) => d.kind === 'PodDisruptionBudget').length).toBe(2)
    const np = find(all, 'NetworkPolicy', 'icecream-elasticsearch')
    expect(np.spec.podSelector.matchLabels['elasticsearch.k8s.elastic.co/cluster-name']).toBe(
      'icecream',
    )
    const peers = find(all, 'Kafka').spec.kafka.listeners[0].networkPolicyPeers
    expect(
      peers.map(
        (p: { podSelector: { matchLabels: Record<string, string> } }) =>
          p.podSelector.matchLabels['app.kubernetes.io/component'],
      ),
    ).toEqual(['api', 'consumer'])
  })

  it('renders the smoke test Pod as a helm test hook running smoke.js against the API', () => {
    const [pod] = parseHooks()
    expect(pod?.metadata.annotations?.['helm.sh/hook']).toBe('test')
    const c = pod?.spec.containers[0]
    expect(c.command).toEqual(['node', 'dist/runtime/smoke.js'])
    expect(c.env).toContainEqual({
      name: 'SMOKE_BASE_URL',
      value: 'http://icecream-api.shop.svc:8080',
    })
    expect(c.env).toContainEqual({ name: 'SMOKE_TIMEOUT_SECONDS', value: '120' })
    expect(pod?.spec.restartPolicy).toBe('Never')
  })
})

describe('other value sets', () => {
  it('TLS: listener 9093 with TLS, the app trusts the cluster CA', () => {
    const all = render(valueArgs('tls')).docs
    expect(find(all, 'Kafka').spec.kafka.listeners[0]).toMatchObject({
      name: 'tls',
      port: 9093,
      tls: true,
    })
    expect(find(all, 'ConfigMap').data).toMatchObject({
      KAFKA_SSL: 'true',
      KAFKA_CA_FILE: '/etc/icecream/kafka-ca/ca.crt',
    })
    const vol = find(all, 'Deployment', 'icecream-consumer').spec.template.spec.volumes.find(
      (v: { name: string }) => v.name === 'kafka-ca',
    )
    expect(vol.secret.secretName).toBe('icecream-cluster-ca-cert')
  })

  it('KEDA: a ScaledObject on consumer lag, at most one replica per partition, own least-privilege user', () => {
    const all = render(valueArgs('keda')).docs
    const so = find(all, 'ScaledObject')
    expect(so.spec.scaleTargetRef.name).toBe('icecream-consumer')
    expect(so.spec.maxReplicaCount).toBeLessThanOrEqual(
      find(all, 'KafkaTopic', 'icecream-purchases').spec.partitions,
    )
    expect(so.spec.triggers[0]).toMatchObject({
      type: 'kafka',
      metadata: { consumerGroup: 'purchases-indexer', topic: 'purchases' },
    })
    for (const v of Object.values(so.spec.triggers[0].metadata)) expect(typeof v).toBe('string')
    expect(find(all, 'TriggerAuthentication').spec.secretTargetRef).toContainEqual({
      parameter: 'password',
      name: 'icecream-keda',
      key: 'password',
    })
    expect(
      find(all, 'KafkaUser', 'icecream-keda').spec.authorization.acls.flatMap(
        (a: { operations: string[] }) => a.operations,
      ),
    ).toEqual(['Describe', 'Describe'])
    expect(find(all, 'Deployment', 'icecream-consumer').spec.replicas).toBeUndefined()
  })

  it('KEDA without keda.sh/v1alpha1 in the cluster fails with a clear message', () => {
    const r = helm(['template', 'icecream', env().chart, '--set', 'autoscaling.keda.enabled=true'])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('does not serve keda.sh/v1alpha1')
  })

  it('monitoring: a ServiceMonitor (app) and a PodMonitor (Kafka) only when the Prometheus Operator API exists', () => {
    const all = render(valueArgs('monitoring')).docs
    const pm = find(all, 'PodMonitor')
    expect(pm.spec.podMetricsEndpoints[0].port).toBe('tcp-prometheus')
    expect(pm.spec.selector.matchExpressions[0]).toEqual({
      key: 'strimzi.io/cluster',
      operator: 'In',
      values: ['icecream'],
    })
    const sm = find(all, 'ServiceMonitor')
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics', interval: '15s' })
    expect(sm.metadata.labels?.release).toBe('kube-prometheus-stack')
    const r = helm([
      'template',
      'icecream',
      env().chart,
      '-f',
      path.join(env().chart, 'ci/monitoring-values.yaml'),
    ])
    expect(r.stderr).toContain('does not serve monitoring.coreos.com/v1')
  })

  it('minimal: one Kafka node with RF 1, one Elasticsearch node, no HPA', () => {
    const all = render(valueArgs('minimal')).docs
    expect(find(all, 'KafkaNodePool').spec.replicas).toBe(1)
    expect(find(all, 'Kafka').spec.kafka.config['min.insync.replicas']).toBe(1)
    expect(find(all, 'Elasticsearch').spec.nodeSets[0].count).toBe(1)
    expect(all.some((d) => d.kind === 'HorizontalPodAutoscaler')).toBe(false)
    expect(find(all, 'Deployment', 'icecream-api').spec.replicas).toBe(1)
  })
})

function parseHooks(): Manifest[] {
  return render([]).docs.filter((d) => d.metadata.annotations?.['helm.sh/hook'] === 'test')
}

/** The versions the local stack reads: chart/values.yaml, kafka.version and elasticsearch.version. */
function readVersions(): { kafka: string; elasticsearch: string } {
  const v = parse(readFileSync(path.join(env().chart, 'values.yaml'), 'utf8')) as {
    kafka: { version: string }
    elasticsearch: { version: string }
  }
  return { kafka: v.kafka.version, elasticsearch: v.elasticsearch.version }
}

describe('chart README', () => {
  it('lists every value of values.yaml, generated from its comments (node scripts/chart/values-doc.ts --write)', () => {
    const values = readFileSync(path.join(repoRoot, 'chart/values.yaml'), 'utf8')
    const readme = readFileSync(path.join(repoRoot, 'chart/README.md'), 'utf8')
    expect(readmeWithTable(readme, valuesTable(values))).toBe(readme)
    for (const v of valueDocs(values))
      expect(v.description, `${v.key} needs a "# --" comment`).not.toBe('')
  })
})
