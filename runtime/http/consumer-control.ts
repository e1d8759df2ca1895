/**
 * Pause and resume this process's consumers by hand, to watch the queue buffer: while paused,
 * the API keeps accepting purchases and the lag grows; on resume it drains. Served with
 * DEMO_CONTROLS=true only, and only to requests carrying DEMO_CONTROL_TOKEN (the live page's
 * controls reach every consumer process through the consumers.control topic instead).
 */
import { Hono } from 'hono'
import type { SubscriberRunner } from '../kafka/subscriber-runner.ts'
import { requireControlToken } from './app.ts'

export function consumerControlRoutes(runners: readonly SubscriberRunner[], token: string): Hono {
  const state = (c: { json(body: unknown): Response }) =>
    c.json({ consumers: runners.length, paused: runners.some((runner) => runner.paused) })
  return new Hono()
    .use('/consumer', requireControlToken(token))
    .use('/consumer/*', requireControlToken(token))
    .get('/consumer', (c) => state(c))
    .post('/consumer/pause', (c) => {
      for (const runner of runners) runner.pause()
      return state(c)
    })
    .post('/consumer/resume', (c) => {
      for (const runner of runners) runner.resume()
      return state(c)
    })
}
