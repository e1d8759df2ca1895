import { z } from 'zod'
import { defineSubscriber } from '../../handlers/define.ts'
import { ConsumerCommand, type ConsumerCommandPorts } from '../ports.ts'

/**
 * How the live page's consumer controls reach every consumer process, however many pods run:
 * the API publishes each command on `consumers.control` (routes/post-consumer-command.ts), and
 * every consumer process reads it. The API needs neither to find the pods nor to reach them (no
 * Service per pod, no new network path, no Kubernetes API rights), and a command still arrives
 * at a pod that is restarting. Commands sent before the process started are history, not
 * orders: the delivery skips them.
 */
export default defineSubscriber({
  topic: 'consumers.control',
  group: 'consumers.control',
  delivery: 'every-process',
  deadLetter: null,
  schema: z.object({ command: ConsumerCommand }),
  handle: async (events, { consumers }: ConsumerCommandPorts) => {
    for (const { command } of events) consumers.obey(command)
    return { rejected: [] }
  },
})
