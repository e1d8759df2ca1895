// A broker's port that accepts and then resets every connection once the client speaks, as a
// proxy does when the broker behind it is gone (the fault suite's scenario b): on
// @platformatic/kafka the operation must fail, and the process live on. Before the adapter heard
// every connection's errors, the library's second 'error' on such a connection ended the process.

import type { AddressInfo } from 'node:net'
import { createServer, type Socket } from 'node:net'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createPlatformaticClient } from '../../runtime/kafka/platformatic.ts'
import { silentLogger } from '../support/runtime.ts'

const resets: Socket[] = []
const server = createServer((socket) => {
  socket.once('data', () => {
    resets.push(socket)
    socket.resetAndDestroy()
  })
})
beforeAll(() => new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening)))
afterAll(() => new Promise<void>((closed) => server.close(() => closed())))

test('connections reset while authenticating fail the operation, not the process', async () => {
  const { port } = server.address() as AddressInfo
  const client = createPlatformaticClient(
    {
      KAFKA_CLIENT: 'platformatic',
      KAFKA_BROKERS: [`127.0.0.1:${port}`],
      KAFKA_CLIENT_ID: 'reset-test',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_USERNAME: 'api',
      KAFKA_PASSWORD: 'secret',
      KAFKA_SSL: false,
      KAFKA_CA_FILE: undefined,
    },
    silentLogger,
  )
  const admin = await client.admin()
  try {
    await expect(admin.offsets('purchases')).rejects.toThrow()
    // Every attempt reached the broker's port and was reset there.
    expect(resets.length).toBeGreaterThan(1)
  } finally {
    await admin.disconnect()
  }
}, 30_000) // the adapter's retries back off for about 5 s before giving up
