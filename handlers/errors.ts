/** The errors a handler throws; the runtime decides what each means for HTTP and for Kafka. */

/** An error a route handler throws to answer with a given status (rendered as problem+json). */
export class HttpError extends Error {
  readonly status: number
  readonly detail: string | undefined
  constructor(status: number, title: string, detail?: string) {
    super(title)
    this.status = status
    this.detail = detail
  }
}

/**
 * A dependency (broker, store) is unreachable. Routes answer 503 with Retry-After; subscribers
 * back off and retry the same batch without committing, so nothing is lost.
 */
export class UnavailableError extends Error {
  readonly dependency: string
  constructor(dependency: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.dependency = dependency
  }
}
