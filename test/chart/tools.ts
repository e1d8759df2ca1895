// Paths and command runners shared by the chart tests and their global setup.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const repoRoot = path.resolve(import.meta.dirname, '../..')
export const chartSource = path.join(repoRoot, 'chart')
export const cacheDir = process.env.ICECREAM_CACHE ?? path.join(os.homedir(), '.cache/icecream')

/** ../shared next to the repository: the operators' CRDs used as test data. */
export function sharedDir(): string {
  const dir = path.resolve(repoRoot, '../shared')
  const schemas = path.join(dir, 'schemas')
  if (!existsSync(schemas)) {
    throw new Error(
      `chart tests need the CRDs in ${schemas} (Strimzi 1.2.0, ECK 3.5.0, KEDA 2.20.2); it is missing`,
    )
  }
  return dir
}

/**
 * Builds (first run) or finds a tool with scripts/tools/<name>.sh and resolves to its path.
 * Rejects with a plain message when the tool cannot be built here: the chart checks must not
 * pass without it. Several run in parallel (cold, the Go builds overlap their downloads).
 */
export function ensureTool(
  name: 'helm' | 'kubeconform' | 'promtool' | 'etcd' | 'kube-apiserver' | 'scanners',
): Promise<string> {
  const script = path.join(repoRoot, 'scripts/tools', `${name}.sh`)
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      out += chunk
    })
    child.on('error', reject)
    child.on('close', (status) => {
      const bin = out.trim().split('\n').pop() ?? ''
      if (status === 0 && existsSync(bin)) return resolve(bin)
      reject(
        new Error(
          `cannot build ${name} on this machine (scripts/tools/${name}.sh exited ${status}); the chart checks need it and do not run without it`,
        ),
      )
    })
  })
}

export type Run = { status: number; stdout: string; stderr: string }

/** Runs a command without throwing; returns its exit status and output. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Run {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
    ...(input === undefined ? {} : { input }),
  })
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}

/** Like `run`, without blocking: for a command that waits on something the test does meanwhile. */
export function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }))
  })
}

/** Helm with its own config, cache and data folders, so the user's repositories never leak in. */
export function helmEnv(home: string, kubeconfig?: string): NodeJS.ProcessEnv {
  for (const d of ['config', 'cache', 'data']) mkdirSync(path.join(home, d), { recursive: true })
  return {
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_DATA_HOME: path.join(home, 'data'),
    ...(kubeconfig ? { KUBECONFIG: kubeconfig } : { KUBECONFIG: '/dev/null' }),
  }
}

/** Path of the k8s.io/kubernetes module (downloaded by the kube-apiserver build). */
export function kubernetesModuleDir(): string {
  return execFileSync(
    'bash',
    [path.join(repoRoot, 'scripts/tools/kube-apiserver.sh'), '--module-dir'],
    {
      encoding: 'utf8',
    },
  ).trim()
}
