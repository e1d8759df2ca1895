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
 * sets KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT. The API calls go through Kubernetes'
 * own JavaScript client, configured as in-cluster from that service account.
 *
 *   node dist/runtime/kubernetes/teardown.js
 */
import { isIPv6 } from 'node:net'
import { join } from 'node:path'
import { ApiException, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node'
import { z } from 'zod'
import { ConfigError, parseEnvironment } from '../config.ts'
import { poll } from '../wait.ts'

/**
 * The in-cluster configuration (the client's loadFromCluster) from a service account's token and
 * CA in `dir`: the chart projects them there for this container only, not at the default path.
 */
export function serviceAccountConfig(server: string, dir: string): KubeConfig {
  const config = new KubeConfig()
  config.loadFromClusterAndUser(
    { name: 'in-cluster', server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false },
    {
      name: 'teardown',
      authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } },
    },
  )
  return config
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

/** A 404: a kind the cluster does not serve (no CRD), or an object gone meanwhile. */
const notFound = (error: unknown) => error instanceof ApiException && error.code === 404

export async function teardown(config: KubeConfig, options: TeardownOptions): Promise<void> {
  const api = config.makeApiClient(CustomObjectsApi)
  const deadline = AbortSignal.timeout(options.timeoutMs)
  const collection = (resource: string) => {
    const [group = '', version = '', plural = ''] = resource.split('/')
    return { group, version, plural, namespace: options.namespace }
  }
  const list = async (resource: string) => {
    try {
      const found = await api.listNamespacedCustomObject({
        ...collection(resource),
        labelSelector: options.selector,
      })
      return ObjectList.parse(found).items.filter((o) => !kept(o))
    } catch (error) {
      if (notFound(error)) return []
      throw error
    }
  }

  for (const step of options.steps) {
    for (const resource of step) {
      for (const o of await list(resource)) {
        await api
          .deleteNamespacedCustomObject({ ...collection(resource), name: o.metadata.name })
          .catch((error: unknown) => {
            if (!notFound(error)) throw error
          })
        options.log(`deleting ${resource} ${o.metadata.name}`)
      }
    }
    let left: string[] = []
    await poll(
      async () => {
        left = (
          await Promise.all(
            step.map(async (resource) =>
              (await list(resource)).map((o) => `${resource} ${o.metadata.name}`),
            ),
          )
        ).flat()
        return left.length === 0 || undefined
      },
      { signal: deadline, intervalMs: 1_000 },
    ).catch((error: unknown) => {
      if (!deadline.aborted) throw error
      throw new Error(
        `still there after ${options.timeoutMs / 1000} s (is their operator running?): ${left.join(', ')}`,
      )
    })
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
  let env: z.output<typeof Environment>
  try {
    env = parseEnvironment(Environment)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`teardown: ${error.message}\n`)
    process.exit(2)
  }
  const host = isIPv6(env.KUBERNETES_SERVICE_HOST)
    ? `[${env.KUBERNETES_SERVICE_HOST}]`
    : env.KUBERNETES_SERVICE_HOST
  const config = serviceAccountConfig(
    `https://${host}:${env.KUBERNETES_SERVICE_PORT}`,
    env.SERVICE_ACCOUNT_DIR,
  )
  const log = (line: string) => process.stdout.write(`teardown: ${line}\n`)
  try {
    await teardown(config, {
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
