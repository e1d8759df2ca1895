// Static checks: helm lint --strict, helm template over every value set, kubeconform against
// offline schemas, and unit assertions on what matters in the rendered objects.
import { createHash } from 'node:crypto'
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { environmentVariables } from '../../runtime/config.ts'
import { declarations } from '../../scripts/chart/declarations.ts'
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
  realChart,
  render,
  valueArgs,
  valueSets,
} from './chart.ts'
import { repoRoot } from './tools.ts'

const sizes: Record<string, string> = {}

describe('dependency charts', () => {
  // The title says which chart each test run used: the real one or a stand-in.
  it.each(
    env().dependencies.map((d) => ({
      ...d,
      what: d.real ? `the real chart (${d.detail})` : `a STAND-IN: ${d.detail}`,
    })),
  )('$name $version is $what', ({ name, version, real }) => {
    const deps = parse(readFileSync(path.join(repoRoot, 'chart/Chart.yaml'), 'utf8')) as {
      dependencies: { name: string; version: string }[]
    }
    expect(deps.dependencies).toContainEqual(expect.objectContaining({ name, version }))
    const packaged = path.join(env().chart, 'charts', `${name}-${version}.tgz`)
    expect(existsSync(packaged), `charts/${name}-${version}.tgz`).toBe(real)
    if (real) {
      const shown = helm(['show', 'chart', packaged])
      expect(parse(shown.stdout)).toMatchObject({ name, version })
    }
  })
})

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
  const own = () => render([]).own

  it('runs every pod non-root, read-only, without capabilities, seccomp RuntimeDefault, with resources', () => {
    const all = own()
    const pods = all.flatMap((d) =>
      d.kind === 'Pod' ? [d.spec] : d.spec?.template?.spec ? [d.spec.template.spec] : [],
    )
    // api, consumer, the store setup and teardown Jobs, and the three helm test pods
    expect(pods.length).toBe(7)
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
      }
    }
  })

  it('gives the app a writable /tmp and nothing else writable', () => {
    for (const d of own().filter((m) => m.kind === 'Deployment')) {
      const pod = d.spec.template.spec
      const c = pod.containers[0]
      const tmp = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp')
      expect(tmp, 'a writable /tmp').toBeTruthy()
      expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeTruthy()
      expect(
        c.volumeMounts
          .filter((m: { readOnly?: boolean }) => !m.readOnly)
          .map((m: { mountPath: string }) => m.mountPath),
      ).toEqual(['/tmp'])
    }
  })

  // A stand-in renders no operator: this needs the real chart.
  it.skipIf(!realChart('eck-operator'))(
    "makes the ECK operator's pod fit Pod Security restricted (its chart's default has no seccomp profile)",
    () => {
      const operator = find(docs(), 'StatefulSet', 'elastic-operator').spec.template.spec
      expect(operator.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      })
    },
  )

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
    for (const d of own()) {
      const labels = d.metadata.labels ?? {}
      expect(labels['app.kubernetes.io/instance'], `${d.kind} ${d.metadata.name}`).toBe('icecream')
      expect(labels['app.kubernetes.io/managed-by']).toBe('Helm')
      expect(labels['helm.sh/chart']).toMatch(/^icecream-/)
    }
    for (const d of own().filter((m) => m.kind === 'Deployment')) {
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels)
    }
  })

  it('derives every object name from the release, so two releases share a namespace', () => {
    const names = (release: string) =>
      render(
        ['--set', 'eck-operator.enabled=false', '--set', 'networkPolicy.eckOperatorNamespace=ops'],
        release,
      ).own.map((d) => `${d.kind}/${d.metadata.name}`)
    const [a, b] = [names('icecream'), names('other')]
    for (const name of a) expect(name).toMatch(/^[A-Za-z]+\/icecream(-|$)/)
    expect(a.filter((name) => b.includes(name))).toEqual([])
    expect(find(render([]).own, 'KafkaNodePool').metadata.name).toBe('icecream-dual-role')
  })

  it('renders one kind per template file', () => {
    for (const set of Object.keys(valueSets)) {
      const { own: objects, sources } = render(valueArgs(set))
      const kinds = new Map<string, Set<string>>()
      for (const d of objects) {
        const file = sources.get(d) as string
        kinds.set(file, (kinds.get(file) ?? new Set()).add(d.kind))
      }
      for (const [file, k] of kinds) expect([...k], `${set}: ${file}`).toHaveLength(1)
    }
  })

  it('rolls the app pods when their Elasticsearch password changes', () => {
    const all = own()
    for (const role of ['api', 'consumer']) {
      const secret = find(all, 'Secret', `icecream-es-${role}-user`)
      const sha = createHash('sha256').update(secret.stringData.password).digest('hex')
      const annotations = find(all, 'Deployment', `icecream-${role}`).spec.template.metadata
        .annotations
      expect(annotations['checksum/elasticsearch-password'], role).toBe(sha)
      expect(annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/)
    }
  })

  it('sets only variables the app reads, the tuning ones from values.yaml', () => {
    const all = own()
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

  it('serves the live page with its canary and keeps the demo controls off by default', () => {
    const all = own()
    expect(find(all, 'ConfigMap', 'icecream-config').data).toMatchObject({
      LIVE_PAGE: 'true',
      CANARY_INTERVAL_MS: '5000',
    })
    for (const role of ['api', 'consumer']) {
      const pod = find(all, 'Deployment', `icecream-${role}`).spec.template
      const env = pod.spec.containers[0].env as { name: string; value?: string }[]
      expect(env.find((e) => e.name === 'DEMO_CONTROLS')?.value, role).toBe('false')
      expect(env.map((e) => e.name)).not.toContain('DEMO_CONTROL_TOKEN')
      expect(pod.metadata.annotations['checksum/demo-control-token']).toBeUndefined()
    }
    expect(all.some((d) => d.metadata.name === 'icecream-demo-control')).toBe(false)
    const off = find(
      render(['--set', 'livePage.enabled=false,livePage.canaryIntervalMs=0']).own,
      'ConfigMap',
      'icecream-config',
    ).data
    expect(off).toMatchObject({ LIVE_PAGE: 'false', CANARY_INTERVAL_MS: '0' })
  })

  it('gives the API and the consumers the demo controls token from a Secret only, and rolls them when it changes', () => {
    const all = render(['--set', 'demoControls.enabled=true']).own
    const secret = find(all, 'Secret', 'icecream-demo-control')
    const token = secret.stringData.token as string
    expect(token).toMatch(/^[A-Za-z0-9]{32,}$/)
    const config = find(all, 'ConfigMap', 'icecream-config').data
    expect(JSON.stringify(config)).not.toContain(token)
    // The helm test pods read the ConfigMap but get neither the switch nor the token.
    for (const pod of all.filter((d) => d.metadata.annotations?.['helm.sh/hook'] === 'test')) {
      expect(JSON.stringify(pod)).not.toContain('DEMO_CONTROL')
    }
    for (const role of ['api', 'consumer']) {
      const pod = find(all, 'Deployment', `icecream-${role}`).spec.template
      const env = pod.spec.containers[0].env as { name: string; value?: string }[]
      expect(env.find((e) => e.name === 'DEMO_CONTROLS')?.value, role).toBe('true')
      expect(
        env.find((e) => e.name === 'DEMO_CONTROL_TOKEN'),
        role,
      ).toEqual({
        name: 'DEMO_CONTROL_TOKEN',
        valueFrom: { secretKeyRef: { name: 'icecream-demo-control', key: 'token' } },
      })
      expect(JSON.stringify(pod)).not.toContain(token)
      expect(pod.metadata.annotations['checksum/demo-control-token'], role).toBe(
        createHash('sha256').update(token).digest('hex'),
      )
    }
    const existing = render([
      '--set',
      'demoControls.enabled=true,demoControls.existingSecret=shop-demo-token',
    ]).own
    expect(existing.some((d) => d.metadata.name === 'icecream-demo-control')).toBe(false)
    expect(
      find(existing, 'Deployment', 'icecream-consumer').spec.template.spec.containers[0].env.find(
        (e: { name: string }) => e.name === 'DEMO_CONTROL_TOKEN',
      ).valueFrom,
    ).toEqual({ secretKeyRef: { name: 'shop-demo-token', key: 'token' } })
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
          resource: { type: 'topic' | 'group'; name: string; patternType: 'literal' | 'prefix' }
          operations: string[]
        }) => {
          expect(a.type).toBe('allow')
          return {
            principal: `User:${identity}`,
            resourceType: a.resource.type,
            name: a.resource.name,
            patternType: a.resource.patternType,
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

  it('renders the declared topics and ACLs for the declared subscribers', async () => {
    const all = docs()
    const { topics, subscribers } = await declarations()
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

    const granted = (type: string, operation: string) =>
      find(all, 'KafkaUser', 'icecream-consumer')
        .spec.authorization.acls.filter(
          (a: { resource: { type: string }; operations: string[] }) =>
            a.resource.type === type && a.operations.includes(operation),
        )
        .map((a: { resource: { name: string } }) => a.resource.name)
        .sort()
    // A subscriber delivered to every process reads in a group of each process's own (a prefix).
    expect(granted('group', 'Read')).toEqual(
      subscribers.map((s) => (s.delivery === 'group' ? s.group : `${s.group}.`)).sort(),
    )
    expect(granted('topic', 'Read')).toEqual(subscribers.map((s) => s.topic).sort())
    expect(granted('topic', 'Write')).toEqual(
      subscribers.flatMap((s) => (s.deadLetter ? [s.deadLetter] : [])).sort(),
    )
  })

  it("merges a release's kafka.topics overrides over the declared topic, key by key", () => {
    const purchases = (extra: string[]) =>
      render(extra).own.find((d) => d.kind === 'KafkaTopic' && d.spec.topicName === 'purchases')
        ?.spec
    const declared = purchases([])
    const overridden = purchases([
      '--set',
      'kafka.topics.purchases.partitions=12,kafka.topics.purchases.config.retention\\.ms=86400000',
    ])
    expect(overridden).toEqual({
      ...declared,
      partitions: 12,
      config: { ...declared.config, 'retention.ms': 86400000 },
    })
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
    for (const topic of all.filter((d) => d.kind === 'KafkaTopic')) {
      expect(topic.spec.replicas, topic.spec.topicName).toBe(3)
      expect(topic.spec.config['min.insync.replicas'], topic.spec.topicName).toBe(2)
    }
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

  it('exposes the API through a LoadBalancer with an HPA and PDBs', () => {
    const all = own()
    const svc = find(all, 'Service', 'icecream-api')
    expect(svc.spec.type).toBe('LoadBalancer')
    expect(
      svc.metadata.annotations?.['service.beta.kubernetes.io/do-loadbalancer-healthcheck-path'],
    ).toBe('/readyz')
    expect(find(all, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name).toBe('icecream-api')
    expect(find(all, 'Deployment', 'icecream-api').spec.replicas).toBeUndefined()
    expect(all.filter((d) => d.kind === 'PodDisruptionBudget').length).toBe(2)
  })

  it('lets only the app, its check and the ECK operator from its own namespace into Elasticsearch', () => {
    const np = (args: string[]) =>
      find(render(args).own, 'NetworkPolicy', 'icecream-elasticsearch').spec
    const defaults = np([])
    expect(defaults.podSelector.matchLabels['elasticsearch.k8s.elastic.co/cluster-name']).toBe(
      'icecream',
    )
    const http = defaults.ingress[0].from as Peer[]
    expect(http.map(componentOf)).toEqual([
      'api',
      'consumer',
      'setup',
      'test-elasticsearch',
      undefined,
    ])
    const operator = (spec: { ingress: { from: Peer[] }[] }) => spec.ingress[0]?.from.at(-1)
    expect(operator(defaults)).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'elastic-operator' } },
    })
    const reused = np([
      '--set',
      'eck-operator.enabled=false',
      '--set',
      'networkPolicy.eckOperatorNamespace=shop-ops',
    ])
    expect(operator(reused)?.namespaceSelector).toEqual({
      matchLabels: { 'kubernetes.io/metadata.name': 'shop-ops' },
    })
    const r = helm(['template', 'icecream', env().chart, '--set', 'eck-operator.enabled=false'])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('set networkPolicy.eckOperatorNamespace to the namespace where')
  })

  it('lets the app pods reach Kafka, Elasticsearch and DNS only; only they and the Kafka check reach the brokers', () => {
    const check = (args: string[], port: number) => {
      const all = render(args).own
      const app = find(all, 'NetworkPolicy', 'icecream-app').spec
      expect(app.policyTypes).toEqual(['Ingress', 'Egress'])
      expect(app.podSelector.matchExpressions).toEqual([
        { key: 'app.kubernetes.io/component', operator: 'In', values: ['api', 'consumer'] },
      ])
      expect(
        app.egress.map((rule: { ports: { port: number; protocol: string }[]; to: Peer[] }) => ({
          ports: rule.ports.map((p) => `${p.port}/${p.protocol}`),
          to: rule.to,
        })),
      ).toEqual([
        {
          ports: [`${port}/TCP`],
          to: [
            {
              podSelector: {
                matchLabels: { 'strimzi.io/cluster': 'icecream', 'strimzi.io/broker-role': 'true' },
              },
            },
          ],
        },
        {
          ports: ['9200/TCP'],
          to: [
            {
              podSelector: {
                matchLabels: { 'elasticsearch.k8s.elastic.co/cluster-name': 'icecream' },
              },
            },
          ],
        },
        {
          ports: ['53/UDP', '53/TCP'],
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
        },
      ])
      const listener = find(all, 'Kafka').spec.kafka.listeners[0]
      expect(listener.port).toBe(port)
      return (listener.networkPolicyPeers as Peer[]).map(componentOf)
    }
    expect(check([], 9092)).toEqual(['api', 'consumer', 'test-kafka'])
    expect(check(['--set', 'kafka.tls=true', '--set', 'tests.enabled=false'], 9093)).toEqual([
      'api',
      'consumer',
    ])
  })

  it('renders the helm test pods: a purchase end to end, Kafka access of both users, Elasticsearch access of the API user', () => {
    const tests = testPods(render([]).own)
    expect(tests.map((t) => t.metadata.name)).toEqual([
      'icecream-test-elasticsearch',
      'icecream-test-kafka',
      'icecream-test-purchase',
    ])
    const containers = Object.fromEntries(
      tests.flatMap((t) =>
        t.spec.containers.map((c: Container) => [`${t.metadata.name}/${c.name}`, c]),
      ),
    ) as Record<string, Container>
    const summary = Object.entries(containers).map(([name, c]) => [
      name,
      c.command.join(' '),
      c.env.find((e) => e.name === 'KAFKA_USERNAME')?.value ?? '',
    ])
    expect(summary).toEqual([
      [
        'icecream-test-elasticsearch/api-reads-only',
        'node dist/runtime/checks/elasticsearch-access.js',
        'icecream-api',
      ],
      [
        'icecream-test-kafka/consumer-reads',
        'node dist/runtime/checks/kafka-access.js allowed',
        'icecream-consumer',
      ],
      [
        'icecream-test-kafka/api-refused',
        'node dist/runtime/checks/kafka-access.js refused',
        'icecream-api',
      ],
      ['icecream-test-purchase/purchase', 'node dist/runtime/smoke.js', ''],
    ])
    // The checks run with the app's own configuration and the role's credentials and CAs.
    const api = find(render([]).own, 'Deployment', 'icecream-api').spec.template.spec.containers[0]
    for (const name of [
      'icecream-test-elasticsearch/api-reads-only',
      'icecream-test-kafka/api-refused',
    ]) {
      const c = containers[name] as Container
      expect(c.envFrom).toEqual(api.envFrom)
      for (const v of ['KAFKA_USERNAME', 'KAFKA_PASSWORD', 'ELASTICSEARCH_PASSWORD']) {
        expect(
          c.env.find((e) => e.name === v),
          `${name} ${v}`,
        ).toEqual(api.env.find((e: { name: string }) => e.name === v))
      }
      expect(c.volumeMounts.slice(1)).toEqual(api.volumeMounts.slice(1))
    }
    expect(containers['icecream-test-purchase/purchase']?.env).toEqual([
      { name: 'SMOKE_BASE_URL', value: 'http://icecream-api.shop.svc:8080' },
      { name: 'SMOKE_TIMEOUT_SECONDS', value: '120' },
    ])
    for (const t of tests) {
      expect(t.metadata.annotations?.['helm.sh/hook']).toBe('test')
      expect(t.spec.restartPolicy).toBe('Never')
    }
    expect(testPods(render(['--set', 'tests.enabled=false']).own)).toEqual([])
  })

  it('runs only entry points the image builds (node dist/<source>.js of a runtime source)', () => {
    const commands = render([]).own.flatMap(
      (d) =>
        (d.kind === 'Pod' ? d.spec : d.spec?.template?.spec)?.containers.map(
          (c: Container) => c.command,
        ) ?? [],
    )
    expect(commands.length).toBe(8)
    for (const [bin, entry] of commands) {
      expect(bin).toBe('node')
      const source = String(entry)
        .replace(/^dist\//, '')
        .replace(/\.js$/, '.ts')
      expect(existsSync(path.join(repoRoot, source)), source).toBe(true)
      expect(readFileSync(path.join(repoRoot, source), 'utf8')).toContain('import.meta.main')
    }
  })

  it('orders the teardown: a pre-delete hook Job deletes the Kafka and Elasticsearch resources before Helm removes their operators', () => {
    const all = render([]).own
    const hooks = all.filter((d) => d.metadata.annotations?.['helm.sh/hook'] === 'pre-delete')
    expect(
      hooks.map((h) => `${h.kind}:${h.metadata.annotations?.['helm.sh/hook-weight']}`),
    ).toEqual(
      expect.arrayContaining(['ServiceAccount:-10', 'Role:-10', 'RoleBinding:-10', 'Job:0']),
    )
    expect(hooks).toHaveLength(4)
    for (const h of hooks) {
      expect(h.metadata.name).toBe('icecream-teardown')
      expect(h.metadata.annotations?.['helm.sh/hook-delete-policy']).toBe(
        'before-hook-creation,hook-succeeded',
      )
    }
    const job = find(all, 'Job', 'icecream-teardown').spec.template.spec
    const env = Object.fromEntries(
      job.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
    )
    expect(JSON.parse(env.TEARDOWN_STEPS)).toEqual([
      ['kafka.strimzi.io/v1/kafkatopics', 'kafka.strimzi.io/v1/kafkausers'],
      [
        'elasticsearch.k8s.elastic.co/v1/elasticsearches',
        'kafka.strimzi.io/v1/kafkanodepools',
        'kafka.strimzi.io/v1/kafkas',
      ],
    ])
    expect(env.TEARDOWN_SELECTOR).toBe(
      'app.kubernetes.io/instance=icecream,app.kubernetes.io/name=icecream',
    )
    expect(job.serviceAccountName).toBe('icecream-teardown')
    expect(find(all, 'Role', 'icecream-teardown').rules).toEqual([
      {
        apiGroups: ['elasticsearch.k8s.elastic.co'],
        resources: ['elasticsearches'],
        verbs: ['list', 'delete'],
      },
      {
        apiGroups: ['kafka.strimzi.io'],
        resources: ['kafkanodepools', 'kafkas', 'kafkatopics', 'kafkausers'],
        verbs: ['list', 'delete'],
      },
    ])
    const without = (args: string[]) =>
      render(args).own.filter((d) => d.metadata.annotations?.['helm.sh/hook'] === 'pre-delete')
    expect(without(['--set', 'uninstallHook.enabled=false'])).toEqual([])
    // Operators that outlive the release need no ordering.
    expect(
      without([
        '--set',
        'strimzi-kafka-operator.enabled=false',
        '--set',
        'eck-operator.enabled=false',
        '--set',
        'networkPolicy.eckOperatorNamespace=ops',
      ]),
    ).toEqual([])
  })
})

describe('other value sets', () => {
  it('TLS: listener 9093 with TLS, the app trusts the cluster CA', () => {
    const all = render(valueArgs('tls')).own
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
    const all = render(valueArgs('keda')).own
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
    const all = render(valueArgs('monitoring')).own
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
    const all = render(valueArgs('minimal')).own
    expect(find(all, 'KafkaNodePool').spec.replicas).toBe(1)
    expect(find(all, 'Kafka').spec.kafka.config['min.insync.replicas']).toBe(1)
    expect(find(all, 'Elasticsearch').spec.nodeSets[0].count).toBe(1)
    expect(all.some((d) => d.kind === 'HorizontalPodAutoscaler')).toBe(false)
    expect(find(all, 'Deployment', 'icecream-api').spec.replicas).toBe(1)
  })
})

type Peer = {
  podSelector?: { matchLabels: Record<string, string> }
  namespaceSelector?: { matchLabels: Record<string, string> }
}
type Container = {
  name: string
  command: string[]
  env: { name: string; value?: string; valueFrom?: unknown }[]
  envFrom?: unknown
  volumeMounts: unknown[]
}

const componentOf = (p: Peer) => p.podSelector?.matchLabels['app.kubernetes.io/component']

function testPods(docs: Manifest[]): Manifest[] {
  return docs
    .filter((d) => d.metadata.annotations?.['helm.sh/hook'] === 'test')
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
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
