/**
 * A one-node Kubernetes with a real kubelet, started and stopped by the caller: etcd,
 * kube-apiserver, containerd, the controller-manager, the scheduler, the kubelet, kube-proxy,
 * kube-router (NetworkPolicies) and CoreDNS, all inside a network namespace of their own
 * (scripts/cluster/run.sh). The machine's sysctls, iptables and ports are never changed; the API
 * server is reached over a veth link into the namespace.
 *
 * The cluster lives as long as the pipe to its init stays open: when this process ends however it
 * ends (Ctrl-C, a crash), the init exits, the kernel kills every process in the namespace, and
 * run.sh removes the namespace and the cgroups.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { KubeConfig, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node'
import { parseAllDocuments } from 'yaml'
import { poll } from '../../runtime/wait.ts'

const here = import.meta.dirname
const cacheDir = process.env.ICECREAM_CACHE ?? path.join(os.homedir(), '.cache/icecream')

/** The names and addresses scripts/cluster/env.sh gives the cluster of this index. */
export const clusterEnv = Object.fromEntries(
  execFileSync('bash', ['-c', `source ${path.join(here, 'env.sh')} && set -o posix && set`], {
    encoding: 'utf8',
  })
    .split('\n')
    .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
) as Record<
  'index' | 'netns' | 'node_ip' | 'node_name' | 'dns_service_ip' | 'COREDNS_VERSION',
  string
>

export interface Cluster {
  server: string
  /** An admin kubeconfig (e.g. for helm). */
  kubeconfig: string
  objects: KubernetesObjectApi
  /** Where each component logs while the cluster runs. */
  logDir: string
  nodeName: string
  /** Stops every process by SIGKILL to the namespace's init, then removes the namespace. */
  stop(): Promise<void>
}

/**
 * An object as the API server has it, or undefined while it is not there (or the server does not
 * answer). `T` names the fields the caller reads, all optional.
 */
export function readIfThere<T>(
  objects: KubernetesObjectApi,
  apiVersion: string,
  kind: string,
  name: string,
  namespace?: string,
): Promise<T | undefined> {
  return objects
    .read({ apiVersion, kind, metadata: { name, ...(namespace && { namespace }) } })
    .then((object) => object as T)
    .catch(() => undefined)
}

/** An object's status conditions, e.g. a Node's Ready or a Job's Complete. */
export type Conditioned = { status?: { conditions?: { type: string; status: string }[] } }

/** Whether an object has the condition `type` set to True. */
export const hasCondition = (object: Conditioned | undefined, type: string): boolean =>
  object?.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false

/** True once the Service has a ready endpoint, else undefined (for `poll`). */
export async function hasReadyEndpoint(
  objects: KubernetesObjectApi,
  namespace: string,
  service: string,
): Promise<true | undefined> {
  type Slice = { endpoints?: { conditions?: { ready?: boolean } }[] }
  const slices = await objects
    .list<Slice & KubernetesObject>(
      'discovery.k8s.io/v1',
      'EndpointSlice',
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      `kubernetes.io/service-name=${service}`,
    )
    .catch(() => undefined)
  return slices?.items.some((s) => s.endpoints?.some((e) => e.conditions?.ready)) || undefined
}

function tool(script: string): string {
  return execFileSync('bash', [path.join(here, '..', 'tools', script)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim()
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

const step = async <T>(what: string, fn: () => Promise<T> | T): Promise<T> => {
  const start = Date.now()
  const result = await fn()
  process.stderr.write(`cluster: ${what} (${((Date.now() - start) / 1000).toFixed(1)} s)\n`)
  return result
}

/**
 * Builds what is missing (first run), starts the cluster and resolves once its node is Ready and
 * CoreDNS answers. `signal` bounds the wait for the cluster (not the builds).
 */
export async function startCluster({ signal }: { signal: AbortSignal }): Promise<Cluster> {
  if (process.getuid?.() !== 0) {
    throw new Error('cluster: needs root (network namespaces, containerd, the kubelet)')
  }
  const binaries = await step('host packages and binaries ready', () => {
    execFileSync('bash', [path.join(here, 'prerequisites.sh')], { stdio: 'inherit' })
    return ['etcd.sh', 'kube-apiserver.sh', 'kube-node.sh', 'kube-router.sh', 'coredns.sh'].map(
      tool,
    )
  })
  const home = path.join(cacheDir, `cluster-${clusterEnv.index}`)
  const runDir = path.join(home, 'run')
  const logDir = path.join(home, 'logs')
  rmSync(home, { recursive: true, force: true })
  mkdirSync(home, { recursive: true })
  const started = Date.now()
  // A session of its own: a terminal's Ctrl-C reaches this process only, whose end of the pipe
  // then closes and takes the cluster with it.
  const child = spawn('bash', [path.join(here, 'run.sh'), runDir, ...binaries.slice(0, 4)], {
    detached: true,
    stdio: ['pipe', 'ignore', openSync(path.join(home, 'run.log'), 'w')],
  })
  const ended = exited(child)
  const failed = ended.then((code) => {
    throw new Error(`cluster: run.sh ended (${code}): see ${path.join(home, 'run.log')}`)
  })
  failed.catch(() => {})
  const until = <T>(what: string, check: () => Promise<T | undefined>) =>
    step(what, () => Promise.race([poll(check, { signal }), failed]))

  const stop = async () => {
    const start = Date.now()
    const initFile = path.join(runDir, 'init.pid')
    // Before the init exists (a failed preparation) closing the pipe is enough.
    if (existsSync(initFile)) process.kill(Number(readFileSync(initFile, 'utf8')), 'SIGKILL')
    child.stdin?.destroy()
    const code = await ended
    if (existsSync(path.join(runDir, 'logs')))
      cpSync(path.join(runDir, 'logs'), logDir, { recursive: true })
    rmSync(runDir, { recursive: true, force: true })
    process.stderr.write(
      `cluster: stopped and removed (${((Date.now() - start) / 1000).toFixed(1)} s)\n`,
    )
    if (code !== 0) throw new Error(`cluster: removal failed (${code}): see ${home}/run.log`)
  }

  try {
    await until(
      'prepared (certificates, configs, images, namespace)',
      async () => existsSync(path.join(runDir, 'init.pid')) || undefined,
    )
    const kubeconfig = path.join(runDir, 'config/admin.kubeconfig')
    const kubeConfig = new KubeConfig()
    kubeConfig.loadFromFile(kubeconfig)
    const objects = KubernetesObjectApi.makeApiClient(kubeConfig)
    const server = `https://${clusterEnv.node_ip}:6443`
    // The API server makes the kube-system namespace once it is up.
    await until(
      'API server ready',
      async () => (await readIfThere(objects, 'v1', 'Namespace', 'kube-system')) && true,
    )
    await step('bootstrap objects created (RBAC, CoreDNS)', async () => {
      const text = readFileSync(path.join(here, 'bootstrap.yaml'), 'utf8')
        .replaceAll('{{COREDNS_VERSION}}', clusterEnv.COREDNS_VERSION)
        .replaceAll('{{DNS_SERVICE_IP}}', clusterEnv.dns_service_ip)
      for (const document of parseAllDocuments(text)) await objects.create(document.toJS())
    })
    await until('node Ready', async () => {
      const node = await readIfThere<Conditioned>(objects, 'v1', 'Node', clusterEnv.node_name)
      return hasCondition(node, 'Ready') || undefined
    })
    // kube-router finds its node by name at start: only now can it run.
    child.stdin?.write('bootstrapped\n')
    await until('NetworkPolicy enforcer healthy', async () => {
      const answer = await fetch(`http://${clusterEnv.node_ip}:20244/healthz`).catch(
        () => undefined,
      )
      return answer?.ok || undefined
    })
    await until('CoreDNS ready', () => hasReadyEndpoint(objects, 'kube-system', 'kube-dns'))
    process.stderr.write(
      `cluster: up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${server}\n`,
    )
    return {
      server,
      kubeconfig,
      objects,
      logDir: path.join(runDir, 'logs'),
      nodeName: clusterEnv.node_name,
      stop,
    }
  } catch (error) {
    await stop().catch(() => {})
    throw error
  }
}
