import { z } from 'zod'
import { defineRoute } from '../../handlers/define.ts'
import { maxLoadRatePerSecond, maxLoadSeconds } from '../limits.ts'
import { type LivePorts, LoadStatus } from '../ports.ts'

export default defineRoute({
  method: 'post',
  path: '/live/load',
  summary: 'Start the built-in load generator',
  description:
    'Realistic purchases (many shops, flavours and prices) posted to this API at a fixed rate ' +
    'for a bounded time, open loop. A running load is replaced.',
  tags: ['live page'],
  access: 'token',
  request: {
    body: z
      .object({
        rate_per_second: z.int().min(1).max(maxLoadRatePerSecond),
        duration_seconds: z.int().min(1).max(maxLoadSeconds),
      })
      .strict(),
  },
  responses: {
    202: { description: 'Started.', schema: LoadStatus },
    401: { description: 'No valid control token.' },
    422: { description: 'Rate or duration out of bounds.' },
  },
  handler: async ({ body }, { demo }: LivePorts) => ({
    status: 202,
    body: demo.startLoad({
      ratePerSecond: body.rate_per_second,
      durationSeconds: body.duration_seconds,
    }),
  }),
})
