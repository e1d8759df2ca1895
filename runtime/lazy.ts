/**
 * Connects lazily and again after a failure: the first caller starts the connection, the
 * others share it, and a failed attempt is forgotten so the next call tries anew.
 */
export function lazy<T>(connect: () => Promise<T>): () => Promise<T> {
  let connection: Promise<T> | undefined
  return () => {
    connection ??= connect().catch((error: unknown) => {
      connection = undefined
      throw error
    })
    return connection
  }
}
