/**
 * A loopback TCP proxy whose link can be cut, frozen and restored: a dependency going down or
 * hanging (a stopped process, a partition that drops packets), for real. In front of a Kafka
 * broker it can also hold back the broker's answers to produce requests: the broker wrote the
 * batch, the client never hears so in time ("lost produce responses").
 */
import { connect, createServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface TcpProxy {
  port: number
  /** Drops every connection and refuses new ones until `restore`. */
  cut(): void
  /** Keeps every connection open and accepts new ones, but nothing passes: a hang, not a refusal. */
  freeze(): void
  restore(): void
  /**
   * Until `restore`, delays each answer to a Kafka produce request by `ms` (and what follows it
   * on that connection, which keeps the order). The request itself passes at once.
   */
  delayProduceResponses(ms: number): void
  /** Produce answers delayed so far. */
  readonly delayedProduceResponses: number
  close(): Promise<void>
}

/** Kafka's framing: a 4-byte size, then (requests) api key, api version, correlation id. */
const produceApiKey = 0

/** Splits a byte stream into Kafka's size-prefixed frames. */
function frames(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0)
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk])
    while (buffered.length >= 4) {
      const size = 4 + buffered.readInt32BE(0)
      if (buffered.length < size) return
      onFrame(buffered.subarray(0, size))
      buffered = buffered.subarray(size)
    }
  }
}

export interface TcpProxyOptions {
  /** Its own port (default: a free one). */
  port?: number
  /** Speaks Kafka's protocol to a broker: needed for `delayProduceResponses`. */
  kafka?: boolean
}

export async function startTcpProxy(
  targetPort: number,
  options: TcpProxyOptions = {},
): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let state: 'up' | 'down' | 'frozen' = 'up'
  let produceDelayMs = 0
  let delayed = 0
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  }
  /** Both directions frame by frame, so the answers to produce requests can be told apart. */
  const relayKafka = (client: Socket, upstream: Socket) => {
    const produceRequests = new Set<number>()
    client.on(
      'data',
      frames((frame) => {
        if (frame.length >= 12 && frame.readInt16BE(4) === produceApiKey) {
          produceRequests.add(frame.readInt32BE(8))
        }
        upstream.write(frame)
      }),
    )
    let releaseAt = 0
    let written = Promise.resolve()
    upstream.on(
      'data',
      frames((frame) => {
        const correlationId = frame.length >= 8 ? frame.readInt32BE(4) : -1
        if (produceRequests.delete(correlationId) && produceDelayMs > 0) {
          delayed++
          releaseAt = Math.max(releaseAt, Date.now() + produceDelayMs)
        }
        const at = releaseAt
        written = written.then(async () => {
          if (at > Date.now()) await sleep(at - Date.now())
          if (!client.destroyed) client.write(frame)
        })
      }),
    )
  }
  const server = createServer((client) => {
    if (state === 'down') return client.destroy()
    track(client)
    // Accepted and held: the caller waits for an answer that never comes.
    if (state === 'frozen') return client.pause()
    const upstream = connect(targetPort, '127.0.0.1')
    track(upstream)
    if (options.kafka) relayKafka(client, upstream)
    else client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((listening) => server.listen(options.port ?? 0, '127.0.0.1', listening))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('proxy has no port')
  return {
    port: address.port,
    cut() {
      state = 'down'
      for (const socket of sockets) socket.destroy()
    },
    freeze() {
      state = 'frozen'
      for (const socket of sockets) socket.pause()
    },
    delayProduceResponses(ms) {
      if (!options.kafka) throw new Error('delayProduceResponses needs a proxy started with kafka')
      produceDelayMs = ms
    },
    get delayedProduceResponses() {
      return delayed
    },
    restore() {
      // What froze is dropped: the clients reconnect through the restored link.
      if (state === 'frozen') for (const socket of sockets) socket.destroy()
      state = 'up'
      produceDelayMs = 0
    },
    close: () =>
      new Promise((closed) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => closed())
      }),
  }
}
