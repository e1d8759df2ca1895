import { defineRoute } from '../../handlers/define.ts'
import { type LivePorts, LoadStatus } from '../ports.ts'

export default defineRoute({
  method: 'delete',
  path: '/live/load',
  summary: 'Stop the built-in load generator',
  tags: ['live page'],
  access: 'token',
  request: {},
  responses: {
    200: {
      description: 'Stopped (the purchases in flight are still answered).',
      schema: LoadStatus,
    },
    401: { description: 'No valid control token.' },
  },
  handler: async (_input, { demo }: LivePorts) => ({ status: 200, body: demo.stopLoad() }),
})
