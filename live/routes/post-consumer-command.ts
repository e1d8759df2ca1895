import { z } from 'zod'
import { defineRoute } from '../../handlers/define.ts'
import { maxExtraMembers } from '../limits.ts'
import { ConsumerCommand, type LivePorts, Sent } from '../ports.ts'

const watch: Record<ConsumerCommand, string> = {
  pause: 'lag grows while the API still answers 202; nothing is lost',
  resume: 'lag drains to zero; stored/s jumps above accepted/s until it has',
  add: 'a new member joins, partitions move, a rebalance appears on the timeline',
  remove: 'the extra member leaves, its partitions move back',
}

export default defineRoute({
  method: 'post',
  path: '/live/consumers/{command}',
  summary: 'Pause or resume every consumer, or add or remove a group member',
  description:
    'Published on the consumers.control topic, which every consumer process follows (there may ' +
    'be many pods): `pause` and `resume` apply to each, `add` starts one more member of the ' +
    'indexer group in each consumer process (up to ' +
    `${maxExtraMembers}), \`remove\` stops one of those again.`,
  tags: ['live page'],
  access: 'token',
  request: { params: z.object({ command: ConsumerCommand }) },
  responses: {
    202: { description: 'Sent to the consumers.', schema: Sent },
    401: { description: 'No valid control token.' },
  },
  handler: async ({ params }, { publish, clock }: LivePorts) => {
    await publish('consumers.control', {
      key: 'consumers',
      value: { command: params.command, sent_at: clock.now().toISOString() },
    })
    return { status: 202, body: { status: 'sent', watch: watch[params.command] } }
  },
})
