// What the cluster tests do on the cluster: namespaces, pods run to their end, their logs.
import { readFileSync } from 'node:fs'
import { inject } from 'vitest'
import { type KubeApi, kubeApi } from '../../runtime/kubernetes/teardown.ts'
import { poll } from '../../runtime/wait.ts'
import {
  type Conditioned,
  create,
  getIfOk,
  hasCondition,
  hasReadyEndpoint,
} from '../../scripts/cluster/cluster.ts'

export const env = inject('clusterEnv')
export const api: KubeApi = kubeApi(env.server, env.token, readFileSync(env.caFile, 'utf8'))

/** The image of the tests' pods: a static busybox (sh, wget, nslookup, httpd), made locally. */
export const busybox = 'icecream.local/busybox:1'

const until = <T>(check: () => Promise<T | undefined>, seconds = 60) =>
  poll(check, { signal: AbortSignal.timeout(seconds * 1000), intervalMs: 200 })

/** A fresh namespace, once its default service account (which pods need) exists. */
export async function namespace(name: string): Promise<string> {
  await create(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  await until(() => getIfOk(api, `/api/v1/namespaces/${name}/serviceaccounts/default`))
  return name
}

type PodStatus = { status?: { phase?: string } }

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
  await create(api, {
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
    const pod = await getIfOk<PodStatus>(api, `/api/v1/namespaces/${ns}/pods/${name}`)
    const phase = pod?.status?.phase
    return phase === 'Succeeded' || phase === 'Failed' ? phase : undefined
  })
  return { phase, log: await podLog(ns, name) }
}

export async function podLog(ns: string, name: string): Promise<string> {
  const answer = await api.call('GET', `/api/v1/namespaces/${ns}/pods/${name}/log`)
  if (answer.status !== 200) throw new Error(`log of ${ns}/${name}: ${answer.status}`)
  return String(answer.body)
}

/** Waits until pod `name` is Ready. */
export function podReady(ns: string, name: string): Promise<true> {
  return until(
    async () =>
      hasCondition(
        await getIfOk<Conditioned>(api, `/api/v1/namespaces/${ns}/pods/${name}`),
        'Ready',
      ) || undefined,
  )
}

/** Waits until the Service `name` has a ready endpoint. */
export const serviceReady = (ns: string, name: string) =>
  until(() => hasReadyEndpoint(api, ns, name))
