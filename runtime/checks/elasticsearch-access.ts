/**
 * `helm test`'s Elasticsearch check, with the app's configuration and the API's credentials: the
 * API's user reaches the cluster and reads the index, and may not write to it.
 *
 *   node dist/runtime/checks/elasticsearch-access.js
 */
import { randomUUID } from 'node:crypto'
import { errors } from '@elastic/elasticsearch'
import { loadConfig } from '../config.ts'
import { createElasticsearchClient } from '../elasticsearch/store.ts'
import { CheckFailure, errorMessage as message, report } from './check.ts'

/** The two calls the check makes, as the Elasticsearch client makes them. */
export interface IndexAccess {
  count(params: { index: string }): Promise<{ count: number }>
  index(params: {
    index: string
    id: string
    document: object
    if_seq_no: number
    if_primary_term: number
  }): Promise<unknown>
}

/** Resolves with what it saw when the user reads but may not write; throws `CheckFailure` if not. */
export async function checkReadOnly(client: IndexAccess, index: string): Promise<string> {
  let count: number
  try {
    count = (await client.count({ index })).count
  } catch (error) {
    throw new CheckFailure(`could not read index "${index}": ${message(error)}`, { cause: error })
  }
  // A write conditional on a sequence number no new document has: if the user may write, it
  // fails with 409 and writes nothing; if not, Elasticsearch answers 403 before looking.
  try {
    await client.index({
      index,
      id: `access-check-${randomUUID()}`,
      document: {},
      if_seq_no: 0,
      if_primary_term: 1,
    })
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 403) {
      return `read index "${index}" (${count} documents); a write was refused (403)`
    }
    if (error instanceof errors.ResponseError) {
      throw new CheckFailure(
        `this user may write to index "${index}": a write got past authorization (${error.statusCode}: ${message(error)})`,
      )
    }
    throw new CheckFailure(`could not try a write to index "${index}": ${message(error)}`, {
      cause: error,
    })
  }
  throw new CheckFailure(`this user wrote to index "${index}"`)
}

async function main(): Promise<void> {
  const config = loadConfig()
  const client = createElasticsearchClient(config)
  const access: IndexAccess = {
    count: (params) => client.count(params),
    index: (params) => client.index(params),
  }
  await report(`elasticsearch-access (${config.ELASTICSEARCH_USERNAME})`, () =>
    checkReadOnly(access, config.ELASTICSEARCH_INDEX),
  )
  await client.close()
}

if (import.meta.main) await main()
