/**
 * The Node HTTP server under the Hono app, with deliberate limits: slow headers and slow bodies
 * are cut, idle keep-alive connections closed, connections capped. What Node's parser refuses
 * (a timeout, oversized headers, a malformed request) is answered as problem+json too.
 */
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { serve } from '@hono/node-server'
import type { Config } from '../config.ts'
import type { AppLogger } from '../logger.ts'

export type ServerLimits = Pick<
  Config,
  | 'HTTP_HEADERS_TIMEOUT_MS'
  | 'HTTP_REQUEST_TIMEOUT_MS'
  | 'HTTP_KEEP_ALIVE_TIMEOUT_MS'
  | 'HTTP_MAX_CONNECTIONS'
>

/** Node's parser errors, as status and title; anything else it cannot parse is a 400. */
const clientErrors: Record<string, [number, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request timeout'],
  HPE_HEADER_OVERFLOW: [431, 'Request header fields too large'],
}

function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // The client is gone, or an answer is already under way: nothing sensible can be written.
  const answered = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage
  if (!socket.writable || answered?.headersSent) {
    socket.destroy()
    return
  }
  const [status, title] = clientErrors[error.code ?? ''] ?? [400, 'Bad request']
  const body = JSON.stringify({ type: 'about:blank', title, status })
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}

/** Serves `app`; resolves with the server once it listens. */
export async function serveHttp(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  config: Pick<Config, 'HOST' | 'PORT'> & ServerLimits,
  logger: AppLogger,
): Promise<{ server: Server; port: number }> {
  const { promise: listening, resolve } = Promise.withResolvers<number>()
  const server = serve(
    {
      fetch: app.fetch,
      hostname: config.HOST,
      port: config.PORT,
      serverOptions: {
        headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
        requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
        keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
        // Node checks the two timeouts this often (30 s by default): a slow client is cut
        // within a second of its deadline instead of up to half a minute after it.
        connectionsCheckingInterval: Math.min(1_000, config.HTTP_HEADERS_TIMEOUT_MS),
      },
    },
    (info) => resolve(info.port),
  ) as Server
  server.maxConnections = config.HTTP_MAX_CONNECTIONS
  server.on('drop', (dropped) =>
    logger.warn({ remote: dropped?.remoteAddress }, 'connection refused: HTTP_MAX_CONNECTIONS'),
  )
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    logger.info({ code: error.code, reason: error.message }, 'client error')
    answerClientError(error, socket)
  })
  return { server, port: await listening }
}
