/**
 * Starts the one-node cluster, prints how to reach it, and stops it on Ctrl-C (or SIGTERM).
 *   sudo npx tsx scripts/cluster/cli.ts
 */
import { startCluster } from './cluster.ts'

const cluster = await startCluster({ signal: AbortSignal.timeout(300_000) })
process.stdout.write(
  `cluster up: ${cluster.server}\n  kubeconfig: ${cluster.kubeconfig}\n  logs: ${cluster.logDir}\nCtrl-C stops it.\n`,
)
const stopped = new Promise((resolve) => {
  process.once('SIGINT', resolve)
  process.once('SIGTERM', resolve)
})
await stopped
await cluster.stop()
