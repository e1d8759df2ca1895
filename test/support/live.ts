/** The live page's ports in memory, and the HTTP runtime serving its routes on them. */
import type { Purchase } from '../../handlers/purchase.ts'
import type {
  DeadLetter,
  Demo,
  GroupMember,
  LivePorts,
  LoadRequest,
  LoadStatus,
  PartitionPosition,
  QueueView,
  Rebalance,
} from '../../live/ports.ts'
import { mountLiveRoutes } from '../../live/runtime/register.ts'
import { featureRoots, loadRoutes } from '../../runtime/load-handlers.ts'
import { failIfDown, type MemoryPorts, memoryPorts } from './memory-ports.ts'
import { memoryApp } from './runtime.ts'

export interface MemoryLivePorts extends Omit<LivePorts, 'publish'>, MemoryPorts {
  /** What the queue view answers; tests set it. */
  kafka: {
    partitions: PartitionPosition[]
    members: GroupMember[]
    rebalances: Rebalance[]
    /** Newest first. */
    deadLetters: DeadLetter[]
  }
  loads: LoadRequest[]
}

/** The demo port in memory: loads are recorded, never run. */
function memoryDemo(loads: LoadRequest[]): Demo {
  let status: LoadStatus = { running: false, ratePerSecond: 0, sent: 0, accepted: 0, endsAt: null }
  return {
    startLoad(request) {
      loads.push(request)
      status = { ...status, running: true, ratePerSecond: request.ratePerSecond }
      return status
    },
    stopLoad() {
      status = { ...status, running: false }
      return status
    },
    load: () => status,
    freshness: () => ({ p50: 1.2, p99: 2.5, samples: 10 }),
    apiP99: () => 0.004,
  }
}

export function memoryLivePorts(ports = memoryPorts()): MemoryLivePorts {
  const kafka: MemoryLivePorts['kafka'] = {
    partitions: [],
    members: [],
    rebalances: [],
    deadLetters: [],
  }
  const loads: LoadRequest[] = []
  const fromKafka =
    <A extends unknown[], T>(read: (...args: A) => T) =>
    async (...args: A) => {
      failIfDown(ports.outage, 'kafka')
      return read(...args)
    }
  const queue: QueueView = {
    partitions: fromKafka(() => kafka.partitions),
    members: fromKafka(() => kafka.members),
    rebalances: async () => kafka.rebalances,
    deadLetterCount: fromKafka(() => kafka.deadLetters.length),
    latestDeadLetters: fromKafka((limit: number) => kafka.deadLetters.slice(0, limit)),
  }
  const stored = () => {
    failIfDown(ports.outage, 'store')
    return [...ports.purchases.values()]
  }
  const byReceived = (a: Purchase, b: Purchase) => b.received_at.localeCompare(a.received_at)
  return {
    ...ports,
    kafka,
    loads,
    queue,
    demo: memoryDemo(loads),
    totals: {
      countPurchases: async () => stored().length,
      latestPurchases: async (limit) => stored().sort(byReceived).slice(0, limit),
    },
  }
}

/** The product's routes and the live page's, as the live feature mounts them, on memory ports. */
export async function memoryLiveApp(options: { livePage?: boolean; controlToken?: string } = {}) {
  const ports = memoryLivePorts()
  const { app } = await memoryApp({ ports })
  const [liveRoot] = featureRoots
  mountLiveRoutes(app, await loadRoutes<LivePorts>(liveRoot), ports, {
    LIVE_PAGE: options.livePage ?? true,
    DEMO_CONTROLS: options.controlToken !== undefined,
    DEMO_CONTROL_TOKEN: options.controlToken,
  })
  return { app, ports }
}
