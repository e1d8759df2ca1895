/**
 * `ROLE=setup`: puts the index template and creates the index, then exits. A one-off job with
 * its own identity does this (a Job in the chart), so neither the API nor the consumer needs the
 * privilege to change templates. It waits for Elasticsearch to come up.
 */
import type { Config } from '../config.ts'
import { createElasticsearchClient, createElasticsearchStore } from '../elasticsearch/store.ts'
import type { AppLogger } from '../logger.ts'
import { retry, untilStopped } from '../retry.ts'

export async function setUpStore(config: Config, logger: AppLogger): Promise<void> {
  const store = createElasticsearchStore(
    createElasticsearchClient(config),
    config.ELASTICSEARCH_INDEX,
  )
  try {
    await retry(() => store.setup(), {
      policy: untilStopped,
      signal: AbortSignal.timeout(10 * 60_000),
      onRetry: (error, attempt) =>
        logger.warn({ err: error, attempt }, 'index template setup failed, retrying'),
    })
    logger.info({ index: config.ELASTICSEARCH_INDEX }, 'index template and index in place')
  } finally {
    await store.close()
  }
}
