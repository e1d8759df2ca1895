import { z } from 'zod'
import { defineRoute } from '../../handlers/define.ts'
import { HttpError } from '../../handlers/errors.ts'
import { maxReplays } from '../limits.ts'
import { type LivePorts, Sent } from '../ports.ts'

export default defineRoute({
  method: 'post',
  path: '/live/dead-letters/{offset}/redrive',
  summary: 'Put a dead letter back into the purchases topic',
  description:
    `Publishes the dead letter's original key and bytes to the purchases topic again, with a ` +
    `\`replay-count\` header one higher. One redriven ${maxReplays} times already is refused ` +
    '(409), so a message that keeps failing cannot loop for ever.',
  tags: ['live page'],
  access: 'token',
  request: { params: z.object({ offset: z.string().regex(/^\d+$/, 'must be an offset') }) },
  responses: {
    202: { description: 'Published again.', schema: Sent },
    401: { description: 'No valid control token.' },
    404: { description: 'No such dead letter among the latest.' },
    409: { description: 'Redriven too often already.' },
  },
  handler: async ({ params }, { queue, publish }: LivePorts) => {
    const letters = await queue.latestDeadLetters(100)
    const letter = letters.find((l) => l.offset === params.offset)
    if (!letter) {
      throw new HttpError(
        404,
        'No such dead letter',
        `offset ${params.offset} is not among the latest 100`,
      )
    }
    if (letter.replays >= maxReplays) {
      throw new HttpError(
        409,
        'Redriven too often',
        `redriven ${letter.replays} times, the limit is ${maxReplays}`,
      )
    }
    await publish('purchases', {
      key: letter.key ?? '',
      value: letter.value,
      verbatim: true,
      headers: { 'replay-count': String(letter.replays + 1) },
    })
    return {
      status: 202,
      body: {
        status: 'sent',
        watch:
          'the purchases topic takes it again; if it still cannot be stored, the dead-letter count rises with its replay count one higher',
      },
    }
  },
})
