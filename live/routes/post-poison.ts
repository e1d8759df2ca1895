import { defineRoute } from '../../handlers/define.ts'
import { type LivePorts, Sent } from '../ports.ts'

export default defineRoute({
  method: 'post',
  path: '/live/poison',
  summary: 'Publish a message no consumer can store',
  description:
    'A JSON value that breaks the purchase schema, straight onto the purchases topic: the ' +
    'consumer sends it to the dead letters with its reason and origin, and its partition moves on.',
  tags: ['live page'],
  access: 'token',
  request: {},
  responses: {
    202: { description: 'Published.', schema: Sent },
    401: { description: 'No valid control token.' },
  },
  handler: async (_input, { publish, clock }: LivePorts) => {
    await publish('purchases', {
      key: 'live-page-poison',
      value: { poison: true, sent_at: clock.now().toISOString() },
    })
    return {
      status: 202,
      body: {
        status: 'sent',
        watch: 'the dead-letter count rises by one; stored/s and the partitions keep moving',
      },
    }
  },
})
