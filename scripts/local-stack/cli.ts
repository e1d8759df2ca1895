// Manual use: `npx tsx scripts/local-stack/cli.ts start|stop [dataDir]`. `start` leaves the stack
// running in the background and prints how to connect as JSON; `stop` stops it. The ports and
// the default dataDir: KAFKA_PORT, ELASTICSEARCH_PORT, KAFKA_NODES, LOCAL_STACK_DIR, as for
// `npm start` (scripts/start.ts).
import { z } from 'zod'
import { environmentOptions, StackEnvironment } from './options.ts'
import { startStack, stopStack } from './stack.ts'

const usage = 'usage: cli.ts start|stop [dataDir]\n'
const Arguments = z.tuple([z.enum(['start', 'stop']), z.string().min(1).optional()])
const parsed = Arguments.safeParse(process.argv.slice(2))
if (!parsed.success) {
  process.stderr.write(usage)
  process.exit(2)
}
const options = environmentOptions(StackEnvironment)
const [command, dataDir = options.LOCAL_STACK_DIR] = parsed.data
const log = (line: string) => process.stderr.write(`[local-stack] ${line}\n`)

if (command === 'start') {
  const stack = await startStack({
    dataDir,
    kafkaPort: options.KAFKA_PORT,
    kafkaNodes: options.KAFKA_NODES,
    elasticsearchPort: options.ELASTICSEARCH_PORT,
    elasticsearchTransportPort: options.ELASTICSEARCH_PORT + 100,
    log,
  })
  const { stop: _, ...connection } = stack
  process.stdout.write(`${JSON.stringify(connection, null, 2)}\n`)
  process.exit(0)
} else {
  await stopStack(dataDir, log)
  process.exit(0)
}
