// Manual use: `npx tsx scripts/local-stack/cli.ts start|stop [dataDir]`. `start` leaves the stack
// running in the background and prints how to connect as JSON; `stop` stops it.
import { join } from 'node:path'
import { cacheDir } from './fetch.ts'
import { startStack, stopStack } from './stack.ts'

const [command, dataDir = join(cacheDir(), 'local-stack')] = process.argv.slice(2)
const log = (line: string) => process.stderr.write(`[local-stack] ${line}\n`)

if (command === 'start') {
  const stack = await startStack({
    dataDir,
    kafkaPort: 19092,
    elasticsearchPort: 19200,
    elasticsearchTransportPort: 19300,
    log,
  })
  const { stop: _, ...connection } = stack
  process.stdout.write(`${JSON.stringify(connection, null, 2)}\n`)
  process.exit(0)
} else if (command === 'stop') {
  await stopStack(dataDir, log)
  process.exit(0)
} else {
  process.stderr.write('usage: cli.ts start|stop [dataDir]\n')
  process.exit(2)
}
