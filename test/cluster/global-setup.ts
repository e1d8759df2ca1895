// Global setup of the "cluster" vitest project: builds what is missing (first run: the Kubernetes
// binaries, etcd, CoreDNS, kube-router), starts the one-node cluster of scripts/cluster once for
// the run, and stops it afterwards (if this process dies instead, the cluster goes with it).
import type { TestProject } from 'vitest/node'
import { startCluster } from '../../scripts/cluster/cluster.ts'

export type ClusterEnv = { kubeconfig: string; nodeName: string }

declare module 'vitest' {
  export interface ProvidedContext {
    clusterEnv: ClusterEnv
  }
}

export default async function setup(project: TestProject) {
  const cluster = await startCluster({ signal: AbortSignal.timeout(180_000) })
  project.provide('clusterEnv', { kubeconfig: cluster.kubeconfig, nodeName: cluster.nodeName })
  return () => cluster.stop()
}
