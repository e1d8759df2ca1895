import { z } from 'zod'
import { defineRoute } from '../../handlers/define.ts'
import { DeadLetter, type LivePorts } from '../ports.ts'

export default defineRoute({
  method: 'get',
  path: '/live/dead-letters',
  summary: 'The latest dead letters, with their contents',
  description:
    'Newest first: why each failed, where it came from (topic, partition, offset), how often it ' +
    'was redriven, and its original bytes. Contents may be personal data: a demo control.',
  tags: ['live page'],
  access: 'token',
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(10) }) },
  responses: {
    200: {
      description: 'The dead letters.',
      schema: z.object({ dead_letters: z.array(DeadLetter) }),
    },
    401: { description: 'No valid control token.' },
  },
  handler: async ({ query }, { queue }: LivePorts) => ({
    status: 200,
    body: { dead_letters: await queue.latestDeadLetters(query.limit) },
  }),
})
