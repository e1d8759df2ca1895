/**
 * The chart's pre-delete hook: before `helm uninstall` deletes the operators, delete this
 * release's resources that they manage, step by step, and wait until each step's are gone.
 * Without it Helm deletes the operators first, and a resource whose finalizer only its operator
 * removes (a KafkaTopic, finalized by Strimzi's Topic Operator) stays stuck, with its namespace.
 * Resources Helm keeps (`helm.sh/resource-policy: keep`) are left alone, as Helm leaves them.
 *
 * The chart's Job sets TEARDOWN_NAMESPACE, TEARDOWN_SELECTOR (the release's labels),
 * TEARDOWN_STEPS (JSON: a list of steps, each a list of "group/version/plural"),
 * TEARDOWN_TIMEOUT_SECONDS and SERVICE_ACCOUNT_DIR (a projected token and ca.crt); Kubernetes
 * sets KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT.
 *
 *   node dist/runtime/kubernetes/teardown.js
 */
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'

export interface KubeApi {
  /** A JSON body is sent as a merge patch with PATCH, as plain JSON otherwise. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>
}

/** The Kubernetes API over HTTPS with a bearer token, verifying the cluster's CA. */
export function kubeApi(server: string, token: string, ca: string): KubeApi {
  return {
    call: (method, path, body) =>
      new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body)
        const contentType = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'
        const req = request(
          new URL(path, server),
          {
            method,
            ca,
            headers: {
              authorization: `Bearer ${token}`,
              accept: 'application/json',
              ...(data && { 'content-type': contentType }),
            },
            timeout: 10_000,
          },
          (res) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (chunk: string) => {
              text += chunk
            })
            res.on('end', () => {
              let body: unknown = text
              try {
                body = JSON.parse(text)
              } catch {}
              resolve({ status: res.statusCode ?? 0, body })
            })
          },
        )
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)))
        req.on('error', reject)
        req.end(data)
      }),
  }
}

const ObjectList = z.object({
  items: z.array(
    z.object({
      metadata: z.object({
        name: z.string(),
        annotations: z.record(z.string(), z.string()).optional(),
      }),
    }),
  ),
})

export interface TeardownOptions {
  namespace: string
  /** Label selector of the release's objects. */
  selector: string
  /** Each step's resources ("group/version/plural") are all gone before the next step starts. */
  steps: string[][]
  timeoutMs: number
  log: (line: string) => void
}

const kept = (o: { metadata: { annotations?: Record<string, string> | undefined } }) =>
  o.metadata.annotations?.['helm.sh/resource-policy'] === 'keep'

export async function teardown(api: KubeApi, options: TeardownOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs
  const collection = (resource: string) => {
    const [group, version, plural] = resource.split('/')
    return `/apis/${group}/${version}/namespaces/${options.namespace}/${plural}`
  }
  const list = async (resource: string) => {
    const path = `${collection(resource)}?labelSelector=${encodeURIComponent(options.selector)}`
    const r = await api.call('GET', path)
    // A kind the cluster does not serve (no CRD) has nothing to delete.
    if (r.status === 404) return []
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`)
    return ObjectList.parse(r.body).items.filter((o) => !kept(o))
  }

  for (const step of options.steps) {
    for (const resource of step) {
      for (const o of await list(resource)) {
        const r = await api.call('DELETE', `${collection(resource)}/${o.metadata.name}`)
        if (r.status !== 200 && r.status !== 202 && r.status !== 404) {
          throw new Error(
            `deleting ${resource} ${o.metadata.name}: ${r.status} ${JSON.stringify(r.body)}`,
          )
        }
        options.log(`deleting ${resource} ${o.metadata.name}`)
      }
    }
    for (;;) {
      const left = (
        await Promise.all(
          step.map(async (resource) =>
            (await list(resource)).map((o) => `${resource} ${o.metadata.name}`),
          ),
        )
      ).flat()
      if (left.length === 0) break
      if (Date.now() > deadline) {
        throw new Error(
          `still there after ${options.timeoutMs / 1000} s (is their operator running?): ${left.join(', ')}`,
        )
      }
      await sleep(1_000)
    }
    options.log(`gone: ${step.join(', ')}`)
  }
}

const Environment = z.object({
  TEARDOWN_NAMESPACE: z.string().min(1),
  TEARDOWN_SELECTOR: z.string().min(1),
  TEARDOWN_STEPS: z
    .string()
    .transform((text) => JSON.parse(text) as unknown)
    .pipe(z.array(z.array(z.string().regex(/^[^/]+\/[^/]+\/[^/]+$/, 'group/version/plural')))),
  TEARDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1),
  SERVICE_ACCOUNT_DIR: z.string().min(1),
  KUBERNETES_SERVICE_HOST: z.string().min(1),
  KUBERNETES_SERVICE_PORT: z.coerce.number().int().min(1),
})

async function main(): Promise<void> {
  const env = Environment.parse(process.env)
  const host = env.KUBERNETES_SERVICE_HOST.includes(':')
    ? `[${env.KUBERNETES_SERVICE_HOST}]`
    : env.KUBERNETES_SERVICE_HOST
  const api = kubeApi(
    `https://${host}:${env.KUBERNETES_SERVICE_PORT}`,
    readFileSync(join(env.SERVICE_ACCOUNT_DIR, 'token'), 'utf8').trim(),
    readFileSync(join(env.SERVICE_ACCOUNT_DIR, 'ca.crt'), 'utf8'),
  )
  const log = (line: string) => process.stdout.write(`teardown: ${line}\n`)
  try {
    await teardown(api, {
      namespace: env.TEARDOWN_NAMESPACE,
      selector: env.TEARDOWN_SELECTOR,
      steps: env.TEARDOWN_STEPS,
      timeoutMs: env.TEARDOWN_TIMEOUT_SECONDS * 1000,
      log,
    })
    log('done')
  } catch (error) {
    process.stderr.write(
      `teardown: FAILED: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exitCode = 1
  }
}

if (import.meta.main) await main()
