/** The part of autocannon's programmatic API the benchmark uses (the package ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  namespace autocannon {
    interface Request {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string
      setupRequest?: (request: Request) => Request
    }
    interface Options {
      url: string
      connections?: number
      duration?: number
      timeout?: number
      requests?: Request[]
    }
    interface Histogram {
      average: number
      p50: number
      p99: number
    }
    interface Result {
      duration: number
      '2xx': number
      non2xx: number
      errors: number
      timeouts: number
      latency: Histogram
      statusCodeStats: Record<string, { count: number }>
    }
    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void
      on(
        event: 'response',
        listener: (client: unknown, status: number, bytes: number, ms: number) => void,
      ): this
      on(event: string, listener: (...args: unknown[]) => void): this
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance
  export = autocannon
}
