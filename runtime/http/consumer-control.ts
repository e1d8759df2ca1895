/**
 * Pause and resume this process's consumers by hand, to watch the queue buffer: while paused,
 * the API keeps accepting purchases and the lag grows; on resume it drains. Off unless
 * CONSUMER_CONTROL=true (npm start turns it on; the chart does not).
 */
import { Hono } from 'hono'
import type { SubscriberRunner } from '../kafka/subscriber-runner.ts'

export function consumerControlRoutes(runners: readonly SubscriberRunner[]): Hono {
  const state = (c: { json(body: unknown): Response }) =>
    c.json({ consumers: runners.length, paused: runners.some((runner) => runner.paused) })
  return new Hono()
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
