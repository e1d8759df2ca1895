import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import { expect, test } from 'vitest'
import { createPartitionScheduler } from '../../runtime/kafka/partition-scheduler.ts'

interface Message {
  partition: number
  offset: bigint
  size: number
}

const message = (partition: number, offset: number, size = 1): Message => ({
  partition,
  offset: BigInt(offset),
  size,
})

interface Started {
  partition: number
  offsets: number[]
  signal: AbortSignal
  /** Settles the batch's `handle` (rejects it with `error`) and waits until the scheduler saw it. */
  finish(error?: Error): Promise<void>
}

/** A scheduler whose batches stay in flight until the test finishes them. */
function scheduler({
  concurrency,
  maxQueuedBytes = Infinity,
}: {
  concurrency: number
  maxQueuedBytes?: number
}) {
  const started: Started[] = []
  const failures: { message: string; partition: number }[] = []
  let settled = Promise.withResolvers<void>()
  const batches = createPartitionScheduler<Message>({
    concurrency,
    maxQueuedBytes,
    sizeOf: (queued) => queued.size,
    handle({ partition, messages, signal }) {
      const handled = Promise.withResolvers<void>()
      started.push({
        partition,
        offsets: messages.map((queued) => Number(queued.offset)),
        signal,
        async finish(error) {
          if (error) handled.reject(error)
          else handled.resolve()
          await settled.promise
        },
      })
      return handled.promise
    },
    onFailure: (error, partition) =>
      failures.push({ message: (error as Error).message, partition }),
    onSettled() {
      settled.resolve()
      settled = Promise.withResolvers<void>()
    },
  })
  const feed = (...messages: Message[]) => {
    for (const queued of messages) batches.enqueue(queued)
    batches.dispatch()
  }
  const done = new Set<Started>()
  const inFlight = () => started.filter((batch) => !done.has(batch))
  const finish = async (batch: Started | undefined, error?: Error) => {
    if (!batch) throw new Error('no such batch')
    done.add(batch)
    await batch.finish(error)
  }
  const shape = () => started.map(({ partition, offsets }) => ({ partition, offsets }))
  return { batches, started, failures, feed, inFlight, finish, shape }
}

test("a partition's messages go out in offset order, one batch of it at a time", async () => {
  const { feed, finish, started, shape } = scheduler({ concurrency: 4 })
  feed(message(0, 0))
  feed(message(0, 1), message(0, 2))
  // The first batch is in flight: what followed waits for it, whatever the concurrency.
  expect(shape()).toEqual([{ partition: 0, offsets: [0] }])
  await finish(started[0])
  expect(shape()).toEqual([
    { partition: 0, offsets: [0] },
    { partition: 0, offsets: [1, 2] },
  ])
})

test('at most `concurrency` batches are in flight, each of another partition', async () => {
  const { feed, finish, inFlight, shape } = scheduler({ concurrency: 2 })
  feed(message(0, 0), message(1, 0), message(2, 0))
  expect(inFlight().map((batch) => batch.partition)).toEqual([0, 1])
  await finish(inFlight()[1])
  expect(inFlight().map((batch) => batch.partition)).toEqual([0, 2])
  expect(shape()).toHaveLength(3)
})

test('partitions take turns: a busy partition does not starve the one waiting', async () => {
  const { feed, finish, started, shape } = scheduler({ concurrency: 1 })
  feed(message(0, 0), message(1, 0))
  // Partition 0 gets more while its batch is in flight; partition 1 has waited longer.
  feed(message(0, 1))
  await finish(started[0])
  feed(message(0, 2))
  await finish(started[1])
  await finish(started[2])
  expect(shape()).toEqual([
    { partition: 0, offsets: [0] },
    { partition: 1, offsets: [0] },
    { partition: 0, offsets: [1, 2] },
  ])
})

test('a repeated fetch is skipped: each offset is handed out once', async () => {
  const { feed, finish, started, shape } = scheduler({ concurrency: 1 })
  feed(message(0, 0), message(0, 1))
  // A new stream reads again from the committed offset.
  feed(message(0, 0), message(0, 1), message(0, 2))
  await finish(started[0])
  expect(shape()).toEqual([
    { partition: 0, offsets: [0, 1] },
    { partition: 0, offsets: [2] },
  ])
})

test('a failed batch drops what queued behind it and takes its offsets again', async () => {
  const { batches, feed, finish, started, failures, shape } = scheduler({
    concurrency: 2,
    maxQueuedBytes: 3,
  })
  feed(message(0, 0), message(0, 1))
  feed(message(0, 2), message(0, 3), message(0, 4))
  expect(batches.hasRoom).toBe(false)
  await finish(started[0], new Error('handler failed'))
  expect(failures).toEqual([{ message: 'handler failed', partition: 0 }])
  // Offsets 2 to 4 never went out ahead of the failed batch, and no longer fill the queue.
  expect(shape()).toEqual([{ partition: 0, offsets: [0, 1] }])
  expect(batches.hasRoom).toBe(true)
  // Read again from the committed offset: the same offsets are taken, not skipped as repeats.
  feed(message(0, 0), message(0, 1), message(0, 2))
  expect(shape()).toEqual([
    { partition: 0, offsets: [0, 1] },
    { partition: 0, offsets: [0, 1, 2] },
  ])
})

test('queued bytes up to the bound leave room; a batch going out frees it', () => {
  const { batches, feed } = scheduler({ concurrency: 1, maxQueuedBytes: 10 })
  batches.pause()
  feed(message(0, 0, 6))
  expect(batches.hasRoom).toBe(true)
  feed(message(1, 0, 4))
  expect(batches.hasRoom).toBe(false)
  batches.resume()
  // Partition 0's six bytes are in flight; partition 1's four wait.
  expect(batches.hasRoom).toBe(true)
  feed(message(1, 1, 6))
  expect(batches.hasRoom).toBe(false)
})

test('a released partition: its batch aborts, its queue goes, its failure is not one', async () => {
  const { batches, feed, finish, started, failures, shape } = scheduler({ concurrency: 2 })
  feed(message(0, 0), message(1, 0))
  feed(message(0, 1), message(0, 2))
  const reason = new Error('partition 0 was reassigned')
  batches.release(0, reason)
  expect(started[0]?.signal.aborted).toBe(true)
  expect(started[0]?.signal.reason).toBe(reason)
  expect(started[1]?.signal.aborted).toBe(false)
  expect(batches.held()).toEqual([1])
  await finish(started[0], new Error('aborted'))
  expect(failures).toEqual([])
  // Offsets 1 and 2 were dropped with the partition.
  expect(shape()).toEqual([
    { partition: 0, offsets: [0] },
    { partition: 1, offsets: [0] },
  ])
})

test('a partition that comes back waits for its released batch to settle', async () => {
  const { batches, feed, finish, started, shape } = scheduler({ concurrency: 2 })
  feed(message(0, 0), message(0, 1))
  batches.release(0, new Error('reassigned'))
  // Assigned back at once and read from the committed offset, while the aborted batch runs on.
  feed(message(0, 0), message(0, 1))
  expect(batches.held()).toEqual([0])
  expect(shape()).toEqual([{ partition: 0, offsets: [0, 1] }])
  await finish(started[0])
  expect(shape()).toEqual([
    { partition: 0, offsets: [0, 1] },
    { partition: 0, offsets: [0, 1] },
  ])
  expect(started[1]?.signal.aborted).toBe(false)
})

test('paused, nothing new goes out; resumed, the waiting batches do', async () => {
  const { batches, feed, finish, started, shape } = scheduler({ concurrency: 2 })
  feed(message(0, 0))
  batches.pause()
  expect(batches.paused).toBe(true)
  feed(message(0, 1), message(1, 0))
  await finish(started[0])
  expect(shape()).toEqual([{ partition: 0, offsets: [0] }])
  batches.resume()
  // Partition 1 became ready first (partition 0 only when its batch settled).
  expect(shape()).toEqual([
    { partition: 0, offsets: [0] },
    { partition: 1, offsets: [0] },
    { partition: 0, offsets: [1] },
  ])
})

test('stop starts nothing new and resolves once the batches in flight settled', async () => {
  const { batches, feed, finish, started, failures, shape } = scheduler({ concurrency: 1 })
  feed(message(0, 0), message(1, 0))
  const order: string[] = []
  const stopping = batches.stop().then(() => order.push('stopped'))
  // A stopping scheduler leaves the signals alone: the batch finishes and its commits land.
  expect(started[0]?.signal.aborted).toBe(false)
  await finish(started[0], new Error('failed while stopping'))
  order.push('batch settled')
  await stopping
  expect(order).toEqual(['batch settled', 'stopped'])
  expect(failures).toEqual([])
  expect(shape()).toEqual([{ partition: 0, offsets: [0] }])
})

test('abort aborts every held partition and starts nothing new', () => {
  const { batches, feed, started, shape } = scheduler({ concurrency: 1 })
  feed(message(0, 0), message(1, 0))
  const reason = new Error('the client gave up')
  batches.abort(reason)
  feed(message(2, 0))
  expect(started[0]?.signal.reason).toBe(reason)
  expect(shape()).toEqual([{ partition: 0, offsets: [0] }])
})

test('random interleavings keep every rule, and every message goes out once', async () => {
  const rng = xoroshiro128plus(17)
  const int = (from: number, to: number) => uniformInt(rng, from, to)
  const partitions = 5
  const concurrency = 3
  const { feed, finish, inFlight, started } = scheduler({ concurrency })
  const next = Array.from({ length: partitions }, () => 0)
  for (let step = 0; step < 400; step++) {
    if (int(0, 2) > 0) {
      const partition = int(0, partitions - 1)
      feed(message(partition, next[partition] ?? 0))
      next[partition] = (next[partition] ?? 0) + 1
    } else if (inFlight().length > 0) {
      await finish(inFlight()[int(0, inFlight().length - 1)])
    }
    const busy = inFlight().map((batch) => batch.partition)
    expect(busy.length).toBeLessThanOrEqual(concurrency)
    expect(new Set(busy).size).toBe(busy.length)
  }
  while (inFlight().length > 0) await finish(inFlight()[0])
  for (let partition = 0; partition < partitions; partition++) {
    const handedOut = started
      .filter((batch) => batch.partition === partition)
      .flatMap((batch) => batch.offsets)
    expect(handedOut).toEqual(Array.from({ length: next[partition] ?? 0 }, (_, offset) => offset))
  }
})
