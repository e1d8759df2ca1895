/**
 * The live page's own HTTP routes: its built assets (live/page/build.ts writes them to
 * dist/live-page) and its one server-sent-events stream. The stream sends what the
 * `/live/snapshot` route answers (live/routes/get-live-snapshot.ts) about once a second, one
 * reading shared by every open page.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { serveStatic } from '@hono/node-server/serve-static'
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'

const streamEveryMs = 1_000

/** dist/live-page, from the sources (tsx) or from the compiled dist/live/runtime. */
export function liveAssetsDir(): string | undefined {
  return [
    join(import.meta.dirname, '..', '..', 'dist', 'live-page'),
    join(import.meta.dirname, '..', '..', 'live-page'),
  ].find((dir) => existsSync(join(dir, 'index.html')))
}

export interface LivePageOptions {
  /** The snapshot route's answer (a request to the app itself). */
  snapshot(): Promise<Response>
  assetsDir: string
  signal: AbortSignal
}

export function livePageRoutes({ snapshot, assetsDir, signal }: LivePageOptions): Hono {
  // One reading a second however many pages watch, taken only while one does.
  let latest: { at: number; data: Promise<string> } | undefined
  const read = () => {
    const now = Date.now()
    if (!latest || now - latest.at >= streamEveryMs - 50) {
      latest = {
        at: now,
        data: snapshot().then(async (response) =>
          response.ok ? response.text() : JSON.stringify({ error: response.status }),
        ),
      }
    }
    return latest.data
  }
  return new Hono()
    .get('/live/stream', (c) =>
      streamSSE(c, async (stream) => {
        const closed = AbortSignal.any([signal, c.req.raw.signal])
        while (!closed.aborted && !stream.aborted) {
          await stream.writeSSE({ event: 'snapshot', data: await read() })
          await stream.sleep(streamEveryMs)
        }
      }),
    )
    .use(
      '/assets/*',
      serveStatic({
        root: assetsDir,
        rewriteRequestPath: (path) => path.replace(/^\/assets/, ''),
        // File names carry their content's hash: a new build is a new name.
        onFound: (_path, c) => c.header('cache-control', 'public, max-age=31536000, immutable'),
      }),
    )
    .get(
      '/',
      serveStatic({
        root: assetsDir,
        path: 'index.html',
        // The page names the current assets: always ask again.
        onFound: (_path, c) => c.header('cache-control', 'no-cache'),
      }),
    )
}
