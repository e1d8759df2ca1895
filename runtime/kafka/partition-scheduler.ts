/**
 * Per-partition batch scheduling for a client that hands out single messages of many partitions
 * in one stream (@platformatic/kafka): messages are queued per partition in offset order, and a
 * partition's queue goes out as one batch when it has no batch in flight, up to `concurrency`
 * batches at once, partitions taking turns in the order they became ready. No Kafka library here:
 * the adapter feeds it messages and tells it which partitions it lost.
 */

/** What the scheduler needs to know of a message. */
export interface Positioned {
  partition: number
  offset: bigint
}

export interface ScheduledBatch<M> {
  partition: number
  /** Consecutive messages of the partition, in offset order. */
  messages: M[]
  /**
   * Aborted when the partition is released (another member owns it now) or the scheduler is
   * aborted: the batch's work is abandoned and nothing of it may be committed from here.
   */
  signal: AbortSignal
}

export interface PartitionSchedulerOptions<M> {
  /** Batches in flight at once, each of a different partition. */
  concurrency: number
  /** Bytes queued past which `hasRoom` turns false (the caller stops reading). */
  maxQueuedBytes: number
  sizeOf(message: M): number
  handle(batch: ScheduledBatch<M>): Promise<void>
  /**
   * A batch's `handle` rejected while its partition was still held: what was queued behind it is
   * dropped (it must not go out before the failed batch does), and the partition accepts the
   * offsets it had already seen, so the caller can read it again from the committed offset.
   */
  onFailure(error: unknown, partition: number): void
  /** A batch settled: queue room may have opened. */
  onSettled(): void
}

interface Tenure<M> {
  partition: number
  /** Queued and not handed out yet, in offset order. */
  queue: M[]
  bytes: number
  /** The offset after the last one queued: a message below it is a repeated fetch, skipped. */
  next: bigint | undefined
  abort: AbortController
}

export interface PartitionScheduler<M> {
  /** Queues a message of a held partition (a new one is held from its first message). */
  enqueue(message: M): void
  /** Starts the batches that may start now. */
  dispatch(): void
  /** False once the queued messages reach `maxQueuedBytes`. */
  readonly hasRoom: boolean
  /** The partitions queued for or handed out since they were last released. */
  held(): number[]
  /**
   * Forgets a partition: drops its queue and aborts its batch in flight with `reason`. Its next
   * batch (if it comes back) waits until that batch settles, so one partition never has two.
   */
  release(partition: number, reason: unknown): void
  pause(): void
  resume(): void
  readonly paused: boolean
  /** Starts no new batch; resolves once the batches in flight settled (their signals intact). */
  stop(): Promise<void>
  /** Starts no new batch and aborts every held partition's signal with `reason`. */
  abort(reason: unknown): void
}

export function createPartitionScheduler<M extends Positioned>(
  options: PartitionSchedulerOptions<M>,
): PartitionScheduler<M> {
  const tenures = new Map<number, Tenure<M>>()
  /** Partitions with a batch in flight (of their current tenure or of a released one). */
  const busy = new Set<number>()
  /** Tenures with queued messages and no batch in flight, in the order they became so. */
  const ready: Tenure<M>[] = []
  const inFlight = new Set<Promise<void>>()
  let queuedBytes = 0
  let paused = false
  let stopped = false

  function clear(tenure: Tenure<M>) {
    queuedBytes -= tenure.bytes
    tenure.queue = []
    tenure.bytes = 0
  }

  function run(tenure: Tenure<M>) {
    const { partition, queue: messages } = tenure
    const { signal } = tenure.abort
    clear(tenure)
    busy.add(partition)
    const task = (async () => {
      try {
        await options.handle({ partition, messages, signal })
      } catch (error) {
        if (signal.aborted || stopped) return
        clear(tenure)
        tenure.next = undefined
        options.onFailure(error, partition)
      }
    })().finally(() => {
      inFlight.delete(task)
      busy.delete(partition)
      const current = tenures.get(partition)
      if (current && current.queue.length > 0) ready.push(current)
      dispatch()
      options.onSettled()
    })
    inFlight.add(task)
  }

  function dispatch() {
    while (!paused && !stopped && busy.size < options.concurrency) {
      const tenure = ready.shift()
      if (!tenure) return
      // Released since it became ready.
      if (tenures.get(tenure.partition) === tenure) run(tenure)
    }
  }

  return {
    enqueue(message) {
      let tenure = tenures.get(message.partition)
      if (!tenure) {
        tenure = {
          partition: message.partition,
          queue: [],
          bytes: 0,
          next: undefined,
          abort: new AbortController(),
        }
        tenures.set(message.partition, tenure)
      }
      if (tenure.next !== undefined && message.offset < tenure.next) return
      tenure.next = message.offset + 1n
      if (!busy.has(message.partition) && tenure.queue.length === 0) ready.push(tenure)
      const size = options.sizeOf(message)
      tenure.queue.push(message)
      tenure.bytes += size
      queuedBytes += size
    },
    dispatch,
    get hasRoom() {
      return queuedBytes < options.maxQueuedBytes
    },
    held: () => [...tenures.keys()],
    release(partition, reason) {
      const tenure = tenures.get(partition)
      if (!tenure) return
      tenures.delete(partition)
      clear(tenure)
      tenure.abort.abort(reason)
    },
    pause() {
      paused = true
    },
    resume() {
      paused = false
      dispatch()
    },
    get paused() {
      return paused
    },
    async stop() {
      stopped = true
      await Promise.all(inFlight)
    },
    abort(reason) {
      stopped = true
      for (const tenure of tenures.values()) tenure.abort.abort(reason)
    },
  }
}
