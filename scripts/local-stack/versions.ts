import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'

export interface ChartDefaults {
  kafka: string
  elasticsearch: string
  /** The chart's Elasticsearch index: local indices start with it, so the chart's roles cover them. */
  index: string
}

const valuesFile = new URL('../../chart/values.yaml', import.meta.url)

// chart/values.yaml is the one place naming versions, so local runs use what the cluster runs.
export async function readChartDefaults(): Promise<ChartDefaults> {
  const values = parse(await readFile(valuesFile, 'utf8')) as {
    kafka?: { version?: unknown }
    elasticsearch?: { version?: unknown; index?: unknown }
  }
  const kafka = values?.kafka?.version
  const elasticsearch = values?.elasticsearch?.version
  const index = values?.elasticsearch?.index
  if (typeof kafka !== 'string' || typeof elasticsearch !== 'string' || typeof index !== 'string') {
    throw new Error(
      `${valuesFile.pathname} must set kafka.version, elasticsearch.version and elasticsearch.index as strings`,
    )
  }
  return { kafka, elasticsearch, index }
}
