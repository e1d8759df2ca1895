import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, realpath } from 'node:fs/promises'
import { delimiter, dirname, join } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)

export interface Jdk {
  home: string
  major: number
}

async function javaHomeOnPath(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const java = join(dir, 'java')
    if (dir && existsSync(java)) return dirname(dirname(await realpath(java)))
  }
  return undefined
}

async function majorVersion(home: string): Promise<number | undefined> {
  try {
    // `java -version` prints e.g. `openjdk version "17.0.15"` or `version "25"` on stderr.
    const { stderr } = await exec(join(home, 'bin', 'java'), ['-version'], { timeout: 20_000 })
    const match = /version "(\d+)(?:\.(\d+))?/.exec(stderr)
    if (!match) return undefined
    const first = Number(match[1])
    return first === 1 ? Number(match[2]) : first // "1.8.0" is Java 8
  } catch {
    return undefined
  }
}

/** Every JDK we can see, in order of preference: explicit settings first, then PATH, then /usr/lib/jvm. */
export async function findJdks(): Promise<{ searched: string[]; jdks: Jdk[] }> {
  const candidates: string[] = []
  for (const home of [process.env.JAVA_HOME, process.env.ES_JAVA_HOME, await javaHomeOnPath()]) {
    if (home) candidates.push(home)
  }
  const jvmDir = '/usr/lib/jvm'
  const entries = await readdir(jvmDir).catch(() => [] as string[])
  for (const entry of entries.sort()) candidates.push(join(jvmDir, entry))

  const seen = new Set<string>()
  const jdks: Jdk[] = []
  for (const candidate of candidates) {
    const home = await realpath(candidate).catch(() => undefined)
    if (!home || seen.has(home) || !existsSync(join(home, 'bin', 'java'))) continue
    seen.add(home)
    const major = await majorVersion(home)
    if (major !== undefined) jdks.push({ home, major })
  }
  return { searched: candidates, jdks }
}

export function pickJdk(
  found: { searched: string[]; jdks: Jdk[] },
  minimum: number,
  purpose: string,
): Jdk {
  const jdk = found.jdks.find((j) => j.major >= minimum)
  if (jdk) return jdk
  const seen = found.jdks.map((j) => `${j.home} (Java ${j.major})`).join(', ') || 'none'
  throw new Error(
    `${purpose} needs Java ${minimum} or newer, but none was found. Searched JAVA_HOME, ES_JAVA_HOME, ` +
      `java on PATH and /usr/lib/jvm/* (${found.searched.join(', ') || 'nothing there'}); ` +
      `usable JDKs: ${seen}. Install a JDK ${minimum}+ or point JAVA_HOME at one.`,
  )
}
