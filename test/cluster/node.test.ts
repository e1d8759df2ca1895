// The one-node cluster itself, before any chart: a real kubelet runs pods and Jobs, CoreDNS
// resolves Services, kube-proxy routes to them, and kube-router enforces NetworkPolicies.
import type { V1NetworkPolicy } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { type Conditioned, hasCondition, readIfThere } from '../../scripts/cluster/cluster.ts'
import { busybox, env, namespace, objects, podLog, podReady, runPod, serviceReady } from './kube.ts'

type Node = Conditioned & {
  status?: { nodeInfo?: { kubeletVersion?: string; containerRuntimeVersion?: string } }
}

describe('the one-node cluster', () => {
  it('has a Ready node with the pinned kubelet on containerd', async () => {
    const node = await readIfThere<Node>(objects, 'v1', 'Node', env.nodeName)
    expect(hasCondition(node, 'Ready')).toBe(true)
    expect(node?.status?.nodeInfo?.kubeletVersion).toBe('v1.37.2')
    expect(node?.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\//)
  })

  it('runs a pod and completes a Job', async () => {
    const ns = await namespace('run-and-complete')
    const pod = await runPod(ns, 'hello', 'echo "hello from $(id -u)"')
    expect(pod).toEqual({ phase: 'Succeeded', log: 'hello from 0\n' })

    await objects.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'count', namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'main',
                image: busybox,
                imagePullPolicy: 'Never',
                command: ['sh', '-c', 'echo 1 2 3'],
              },
            ],
          },
        },
      },
    })
    await expect
      .poll(
        async () =>
          hasCondition(
            await readIfThere<Conditioned>(objects, 'batch/v1', 'Job', 'count', ns),
            'Complete',
          ),
        {
          timeout: 60_000,
          interval: 250,
        },
      )
      .toBe(true)
    const pods = await objects.list(
      'v1',
      'Pod',
      ns,
      undefined,
      undefined,
      undefined,
      undefined,
      'job-name=count',
    )
    expect(pods.items).toHaveLength(1)
    expect(await podLog(ns, pods.items[0]?.metadata?.name ?? '')).toBe('1 2 3\n')
  })
})

describe('Services, DNS and NetworkPolicies', () => {
  const web = async (ns: string) => {
    await objects.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'main',
            image: busybox,
            imagePullPolicy: 'Never',
            command: [
              'sh',
              '-c',
              'mkdir -p /tmp/www && echo "served by web" >/tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www',
            ],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          },
        ],
      },
    })
    await objects.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    })
    await podReady(ns, 'web')
    await serviceReady(ns, 'web')
  }
  // A client's try: "reached: <page>" or "refused". The static busybox crashes wherever glibc
  // would load its name-service modules (its wget always; nslookup on a search list): names are
  // resolved in full by nslookup, and nc speaks HTTP to the address.
  const fetchWeb = (ns: string) =>
    `ip=$(nslookup web.${ns}.svc.cluster.local | awk '/^Name:/ { named = 1 } named && /^Address:/ { print $2 }')
    page=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "$ip" 80 2>/dev/null | tail -n 1)
    [ -n "$page" ] && echo "reached: $page" || echo refused`

  it('resolves a Service name through CoreDNS and reaches it through kube-proxy', async () => {
    const ns = await namespace('dns')
    await web(ns)
    type Service = { spec: { clusterIP: string } }
    const service = await readIfThere<Service>(objects, 'v1', 'Service', 'web', ns)
    const lookup = await runPod(
      ns,
      'lookup',
      `nslookup web.${ns}.svc.cluster.local; ${fetchWeb(ns)}`,
    )
    expect(lookup.phase).toBe('Succeeded')
    expect(lookup.log).toContain(`Address: ${service?.spec.clusterIP}`)
    expect(lookup.log).toContain('reached: served by web')
  })

  it('refuses a pod without the allowed label once a NetworkPolicy selects the server', async () => {
    const ns = await namespace('network-policy')
    await web(ns)
    // Before any policy every pod reaches it: the refusal below is the policy's doing.
    expect((await runPod(ns, 'before', fetchWeb(ns))).log).toBe('reached: served by web\n')

    // Typed, as the client serializes known kinds by its models: an ingress rule's `from` is
    // `_from` there, and a plain `from` would be dropped (an ingress rule allowing every source).
    const policy: V1NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'web-from-allowed', namespace: ns },
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Ingress'],
        ingress: [{ _from: [{ podSelector: { matchLabels: { access: 'allowed' } } }] }],
      },
    }
    await objects.create(policy)
    // kube-router applies a new policy within a sync: a fresh pod per try until it is refused.
    let attempt = 0
    await expect
      .poll(async () => (await runPod(ns, `denied-${attempt++}`, fetchWeb(ns))).log, {
        timeout: 90_000,
        interval: 500,
      })
      .toBe('refused\n')
    const allowed = await runPod(ns, 'allowed', fetchWeb(ns), { access: 'allowed' })
    expect(allowed.log).toBe('reached: served by web\n')
  })
})
