/**
 * A loopback TCP proxy whose link can be cut, frozen and restored: a dependency going down or
 * hanging (a stopped process, a partition that drops packets), for real.
 */
import { connect, createServer, type Socket } from 'node:net'

export interface TcpProxy {
  port: number
  /** Drops every connection and refuses new ones until `restore`. */
  cut(): void
  /** Keeps every connection open and accepts new ones, but nothing passes: a hang, not a refusal. */
  freeze(): void
  restore(): void
  close(): Promise<void>
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let state: 'up' | 'down' | 'frozen' = 'up'
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  }
  const server = createServer((client) => {
    if (state === 'down') return client.destroy()
    track(client)
    // Accepted and held: the caller waits for an answer that never comes.
    if (state === 'frozen') return client.pause()
    const upstream = connect(targetPort, '127.0.0.1')
    track(upstream)
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
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
    restore() {
      // What froze is dropped: the clients reconnect through the restored link.
      if (state === 'frozen') for (const socket of sockets) socket.destroy()
      state = 'up'
    },
    close: () =>
      new Promise((closed) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => closed())
      }),
  }
}
