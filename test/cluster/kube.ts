// What the cluster tests do on the cluster: namespaces, pods run to their end, their logs.
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node'
import { inject } from 'vitest'
import { poll } from '../../runtime/wait.ts'
import {
  type Conditioned,
  hasCondition,
  hasReadyEndpoint,
  readIfThere,
} from '../../scripts/cluster/cluster.ts'

export const env = inject('clusterEnv')
const kubeConfig = new KubeConfig()
kubeConfig.loadFromFile(env.kubeconfig)
export const objects = KubernetesObjectApi.makeApiClient(kubeConfig)
const core = kubeConfig.makeApiClient(CoreV1Api)

/** The image of the tests' pods: a static busybox (sh, nslookup, nc, httpd), made locally. */
export const busybox = 'icecream.local/busybox:1'

const until = <T>(check: () => Promise<T | undefined>, seconds = 60) =>
  poll(check, { signal: AbortSignal.timeout(seconds * 1000), intervalMs: 200 })

/** A fresh namespace, once its default service account (which pods need) exists. */
export async function namespace(name: string): Promise<string> {
  await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  await until(() => readIfThere(objects, 'v1', 'ServiceAccount', 'default', name))
  return name
}

/**
 * Runs `script` with busybox's sh in a pod of its own to its end; resolves with its phase
 * (Succeeded or Failed) and its log.
 */
export async function runPod(
  ns: string,
  name: string,
  script: string,
  labels: Record<string, string> = {},
): Promise<{ phase: string; log: string }> {
  await objects.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: {
      restartPolicy: 'Never',
      containers: [
        { name: 'main', image: busybox, imagePullPolicy: 'Never', command: ['sh', '-c', script] },
      ],
    },
  })
  const phase = await until(async () => {
    type Pod = { status?: { phase?: string } }
    const phase = (await readIfThere<Pod>(objects, 'v1', 'Pod', name, ns))?.status?.phase
    return phase === 'Succeeded' || phase === 'Failed' ? phase : undefined
  })
  return { phase, log: await podLog(ns, name) }
}

export const podLog = (namespace: string, name: string): Promise<string> =>
  core.readNamespacedPodLog({ namespace, name })

/** Waits until pod `name` is Ready. */
export const podReady = (ns: string, name: string) =>
  until(
    async () =>
      hasCondition(await readIfThere<Conditioned>(objects, 'v1', 'Pod', name, ns), 'Ready') ||
      undefined,
  )

/** Waits until the Service `name` has a ready endpoint. */
export const serviceReady = (ns: string, name: string) =>
  until(() => hasReadyEndpoint(objects, ns, name))
