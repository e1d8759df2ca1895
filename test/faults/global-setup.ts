/**
 * The fault suite's stack, started once per run: three KRaft nodes (the chart's replication 3,
 * min.insync.replicas 2), Elasticsearch, the chart's identities and privileges, and the API and
 * the consumer as real processes. The API reaches each broker through a proxy in this process
 * (scenario d holds back produce answers there). The tests run in a worker process, so they
 * inject faults through the small control server here (./control.ts).
 */
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import type { StackIdentity } from '../../scripts/local-stack/app-env.ts'
import { cacheDir } from '../../scripts/local-stack/fetch.ts'
import { startHarness } from '../../scripts/local-stack/harness.ts'
import { startTcpProxy } from '../support/tcp-proxy.ts'
import { faultPorts, startControlServer } from './control.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Each identity's environment; `admin` is the stack's own, for the audit's reads. */
    appEnv: Record<StackIdentity, Record<string, string>>
    faults: { apiUrl: string; consumerUrl: string; controlUrl: string; kafkaClient: string }
  }
}

export default async function setup(project: TestProject) {
  const ports = faultPorts(Number(process.env.ICECREAM_TEST_PORT_BASE || 29_000))
  const log = (line: string) => process.stderr.write(`[fault stack] ${line}\n`)
  const kafkaClient = process.env.KAFKA_CLIENT || 'kafkajs'
  // Each proxy forwards to its node's second listener, which advertises the proxy's port: a
  // client bootstrapped through a proxy is sent through the proxies to every node.
  const proxies = await Promise.all(
    ports.proxies.map((port, n) => startTcpProxy(ports.kafka + 3 * n + 2, { port, kafka: true })),
  )
  const harness = startHarness({
    dataDir: join(cacheDir(), `fault-stack-${ports.base}`),
    ports: { kafka: ports.kafka, elasticsearch: ports.elasticsearch },
    kafkaNodes: 3,
    kafkaProxiedPorts: ports.proxies,
    // Four JVMs at once: on a busy machine Elasticsearch alone has taken more than 4 minutes.
    readyWithinMs: 600_000,
    run: { name: `faults-${Date.now().toString(36)}` },
    env: { KAFKA_CLIENT: kafkaClient, LOG_LEVEL: 'warn' },
    log,
    onExit: (name, code) => log(`the ${name} process exited (${code})`),
  })
  const stopProxies = () => Promise.all(proxies.map((proxy) => proxy.close()))
  try {
    const { stack, env } = await harness.ready
    const logs = join(cacheDir(), `fault-stack-${ports.base}`, 'logs')
    const control = await startControlServer({
      harness,
      stack,
      proxies,
      port: ports.control,
      log,
      apps: {
        api: {
          role: 'api',
          port: ports.api,
          output: join(logs, 'api.log'),
          env: { KAFKA_BROKERS: stack.kafka.proxiedBrokers.join(',') },
        },
        consumer: { role: 'consumer', port: ports.consumer, output: join(logs, 'consumer.log') },
      },
    })
    project.provide('appEnv', env)
    project.provide('faults', {
      apiUrl: `http://127.0.0.1:${ports.api}`,
      consumerUrl: `http://127.0.0.1:${ports.consumer}`,
      controlUrl: control.url,
      kafkaClient,
    })
    return async () => {
      await control.close()
      await harness.stop()
      await stopProxies()
    }
  } catch (error) {
    await stopProxies()
    throw error
  }
}
