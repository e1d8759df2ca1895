import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'

export interface Versions {
  kafka: string
  elasticsearch: string
}

const valuesFile = new URL('../../chart/values.yaml', import.meta.url)

// chart/values.yaml is the one place naming versions, so local runs use what the cluster runs.
export async function readVersions(): Promise<Versions> {
  const values = parse(await readFile(valuesFile, 'utf8')) as {
    kafka?: { version?: unknown }
    elasticsearch?: { version?: unknown }
  }
  const kafka = values?.kafka?.version
  const elasticsearch = values?.elasticsearch?.version
  if (typeof kafka !== 'string' || typeof elasticsearch !== 'string') {
    throw new Error(
      `${valuesFile.pathname} must set kafka.version and elasticsearch.version as strings`,
    )
  }
  return { kafka, elasticsearch }
}
