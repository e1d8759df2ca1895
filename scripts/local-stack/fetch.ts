import { existsSync } from 'node:fs'
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { type Log, run } from './proc.ts'

// log4j2 behind slf4j 1.x: Kafka logs through slf4j 1.7 and prints nothing without a binding.
const log4jSlf4jBinding = 'org.apache.logging.log4j:log4j-slf4j-impl:2.25.5'

export function cacheDir(): string {
  return process.env.ICECREAM_CACHE || join(homedir(), '.cache', 'icecream')
}

const m2Repository = join(homedir(), '.m2', 'repository')

async function treeBytes(dir: string): Promise<number> {
  let total = 0
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (!entry.isFile()) continue
    total += await stat(join(entry.parentPath, entry.name)).then(
      (s) => s.size,
      () => 0,
    )
  }
  return total
}

/** Logs "still ..." with the megabytes Maven has downloaded so far, every 10 s, while `work` runs. */
async function withProgress<T>(what: string, log: Log, work: Promise<T>): Promise<T> {
  const started = Date.now()
  const before = await treeBytes(m2Repository)
  const timer = setInterval(async () => {
    const mb = ((await treeBytes(m2Repository)) - before) / 1e6
    const seconds = Math.round((Date.now() - started) / 1000)
    log(`  still ${what}... ${mb.toFixed(0)} MB downloaded so far, ${seconds} s`)
  }, 10_000)
  try {
    return await work
  } finally {
    clearInterval(timer)
  }
}

/**
 * Builds `target` in a temp dir next to it and renames it into place, so an interrupted fetch
 * never leaves a half-filled cache entry; a concurrent fetch that won the race is kept.
 */
async function atomically(target: string, build: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}`
  await rm(tmp, { recursive: true, force: true })
  await mkdir(tmp, { recursive: true })
  try {
    await build(tmp)
    await rename(tmp, target).catch((error: NodeJS.ErrnoException) => {
      if (!existsSync(target)) throw error
    })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

/** Kafka broker (and tools, for benchmarks) jars in `<cache>/kafka-<version>/libs`. */
export async function fetchKafka(version: string, log: Log): Promise<string> {
  const dir = join(cacheDir(), `kafka-${version}`)
  if (existsSync(join(dir, 'libs'))) return dir
  await mkdir(cacheDir(), { recursive: true })
  log(`fetching Kafka ${version} jars with mvn into ${dir} (about 50 MB; 15-60 s the first time)`)
  const started = Date.now()
  await atomically(dir, async (tmp) => {
    const [bGroup, bArtifact, bVersion] = log4jSlf4jBinding.split(':')
    await writeFile(
      join(tmp, 'pom.xml'),
      `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.icecream</groupId>
  <artifactId>kafka-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${version}</version>
      <exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions>
    </dependency>
    <dependency><groupId>${bGroup}</groupId><artifactId>${bArtifact}</artifactId><version>${bVersion}</version></dependency>
  </dependencies>
</project>
`,
    )
    await withProgress(
      'downloading Kafka',
      log,
      run(
        'mvn',
        [
          '-q',
          '-B',
          '-f',
          join(tmp, 'pom.xml'),
          'dependency:copy-dependencies',
          `-DoutputDirectory=${join(tmp, 'libs')}`,
        ],
        { logFile: join(cacheDir(), `fetch-kafka-${version}.log`) },
      ),
    )
    await rm(join(tmp, 'target'), { recursive: true, force: true })
  })
  log(`Kafka ${version} fetched in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  return dir
}

/** Elasticsearch's integ-test-zip distribution (the one Maven Central has), unpacked in the cache. */
export async function fetchElasticsearch(version: string, log: Log): Promise<string> {
  const dir = join(cacheDir(), `elasticsearch-${version}`)
  if (existsSync(join(dir, 'bin', 'elasticsearch'))) return dir
  await mkdir(cacheDir(), { recursive: true })
  const groupPath = 'org/elasticsearch/distribution/integ-test-zip/elasticsearch'
  const zip = join(m2Repository, groupPath, version, `elasticsearch-${version}.zip`)
  const started = Date.now()
  if (!existsSync(zip)) {
    log(
      `fetching Elasticsearch ${version} with mvn (126 MB zip; 15 s to a few minutes the first time)`,
    )
    await withProgress(
      'downloading Elasticsearch',
      log,
      run(
        'mvn',
        [
          '-q',
          '-B',
          'dependency:get',
          `-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:${version}:zip`,
          '-Dtransitive=false',
        ],
        { logFile: join(cacheDir(), `fetch-elasticsearch-${version}.log`) },
      ),
    )
  }
  log(`unpacking Elasticsearch ${version} into ${dir} (about 5 s)`)
  await atomically(dir, async (tmp) => {
    await run('unzip', ['-q', zip, '-d', tmp], {
      logFile: join(cacheDir(), `fetch-elasticsearch-${version}.log`),
    })
    // The zip holds one top-level folder, elasticsearch-<version>/: lift its content up.
    for (const entry of await readdir(join(tmp, `elasticsearch-${version}`))) {
      await rename(join(tmp, `elasticsearch-${version}`, entry), join(tmp, entry))
    }
    await rm(join(tmp, `elasticsearch-${version}`), { recursive: true })
  })
  log(`Elasticsearch ${version} ready in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  return dir
}
