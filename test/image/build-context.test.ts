// There is no Docker engine here, so the image build is rehearsed without one: the files the
// build context lets in (.dockerignore) are enough to type-check and build with the project's
// build script, and the production dependencies alone (`npm ci --omit=dev --ignore-scripts`, as
// in the Dockerfile's deps stage) load the built entry points: nothing in the image needs a
// devDependency, not even the `node` package that pins Node for development.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dockerIgnores, readDockerignore, repoRoot } from './dockerfile.ts'

const cache = process.env.ICECREAM_CACHE ?? path.join(homedir(), '.cache/icecream')
const temps: string[] = []
let context: string
let runDir: string

function temp(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  temps.push(dir)
  return dir
}

/** Files Docker would send as the build context. Descends only into directories it lets in,
 * which is exact for an allow-list of whole top-level directories like ours. */
function contextFiles(ignore: string[], dir = ''): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`
    if (dockerIgnores(ignore, rel)) return []
    return entry.isDirectory() ? contextFiles(ignore, rel) : [rel]
  })
}

/** Production dependencies installed as the deps stage does, cached by the lockfile's hash. */
function productionDependencies(): string {
  const lock = readFileSync(path.join(repoRoot, 'package-lock.json'))
  const key = createHash('sha256').update(lock).digest('hex').slice(0, 16)
  const dir = path.join(cache, 'image', `production-deps-${key}`)
  if (existsSync(path.join(dir, 'node_modules'))) return dir
  const work = `${dir}.tmp-${process.pid}`
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  cpSync(path.join(repoRoot, 'package.json'), path.join(work, 'package.json'))
  cpSync(path.join(repoRoot, 'package-lock.json'), path.join(work, 'package-lock.json'))
  console.info(`image: installing production dependencies into ${dir} (npm ci --omit=dev)`)
  const npm = spawnSync(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    { cwd: work, encoding: 'utf8', timeout: 280_000 },
  )
  if (npm.error || npm.status !== 0) {
    throw new Error(
      `npm ci --omit=dev failed, so the runtime dependencies cannot be checked: ${npm.error?.message ?? npm.stderr}`,
    )
  }
  rmSync(dir, { recursive: true, force: true })
  renameSync(work, dir)
  return dir
}

beforeAll(() => {
  const ignore = readDockerignore()
  context = temp('icecream-image-context-')
  for (const file of contextFiles(ignore)) {
    mkdirSync(path.dirname(path.join(context, file)), { recursive: true })
    cpSync(path.join(repoRoot, file), path.join(context, file))
  }
  // The build stage's `npm ci` installs exactly the lockfile; the repository's install is that.
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(context, 'node_modules'))
  const build = (
    JSON.parse(readFileSync(path.join(context, 'package.json'), 'utf8')) as {
      scripts: { build: string }
    }
  ).scripts.build
  const run = spawnSync('bash', ['-c', build], {
    cwd: context,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, PATH: `${path.join(context, 'node_modules/.bin')}:${process.env.PATH}` },
  })
  if (run.status !== 0) {
    throw new Error(
      `the build (${build}) fails on the build context alone:\n${run.stdout}\n${run.stderr}`,
    )
  }
  // The runtime stage's /app: package.json, dist/ and the production node_modules.
  runDir = temp('icecream-image-app-')
  cpSync(path.join(context, 'dist'), path.join(runDir, 'dist'), { recursive: true })
  cpSync(path.join(context, 'package.json'), path.join(runDir, 'package.json'))
  symlinkSync(
    path.join(productionDependencies(), 'node_modules'),
    path.join(runDir, 'node_modules'),
  )
}, 300_000)

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

describe('the image build, rehearsed without Docker', () => {
  it('sends a build context without tests, charts, infrastructure or secrets', () => {
    const files = contextFiles(readDockerignore())
    expect(files).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']))
    for (const file of files) {
      expect(file).toMatch(
        /^(package(-lock)?\.json|tsconfig(\.build)?\.json|(handlers|live|runtime)\/.+)$/,
      )
      expect(file).not.toMatch(/\.test\.ts$|(^|\/)\.env|\.pem$|\.key$/)
    }
  })

  it('builds the entry points the chart runs, and the handlers the runtime scans for', () => {
    for (const file of [
      'dist/runtime/main.js',
      'dist/runtime/smoke.js',
      'dist/runtime/checks/kafka-access.js',
      'dist/runtime/checks/elasticsearch-access.js',
      'dist/runtime/kubernetes/teardown.js',
    ]) {
      expect(existsSync(path.join(runDir, file)), file).toBe(true)
    }
    for (const folder of [
      'handlers/routes',
      'handlers/subscribers',
      'live/routes',
      'live/subscribers',
    ]) {
      const built = readdirSync(path.join(runDir, 'dist', folder)).filter((f) => f.endsWith('.js'))
      const sources = readdirSync(path.join(repoRoot, folder)).filter((f) => /\.ts$/.test(f))
      expect(built.length, `dist/${folder}`).toBe(sources.length)
    }
    expect(existsSync(path.join(runDir, 'dist/live/runtime/register.js'))).toBe(true)
  })

  it("builds the live page's assets, with everything the page names and nothing from outside", () => {
    const page = readFileSync(path.join(runDir, 'dist/live-page/index.html'), 'utf8')
    const assets = [...page.matchAll(/\/assets\/([\w.-]+)/g)].map((match) => match[1] as string)
    expect(assets.map((file) => path.extname(file)).sort()).toEqual(['.css', '.js'])
    for (const file of assets) {
      const content = readFileSync(path.join(runDir, 'dist/live-page', file), 'utf8')
      expect(content, file).not.toMatch(/(src|href|url\()\s*=?\s*["']?https?:\/\//)
    }
    expect(page).not.toMatch(/(src|href)="https?:\/\//)
  })

  it('installs no devDependency in the runtime, not even the `node` package', () => {
    const modules = path.join(runDir, 'node_modules')
    for (const dev of ['node', 'typescript', 'vitest', '@biomejs/biome', 'tsx', 'pino-pretty']) {
      expect(existsSync(path.join(modules, dev)), `node_modules/${dev}`).toBe(false)
    }
    expect(existsSync(path.join(modules, 'hono'))).toBe(true)
  })

  it.each([
    ['the API and consumer entry point', 'dist/runtime/main.js', { ROLE: 'not-a-role' }, 'ROLE'],
    ['the smoke check', 'dist/runtime/smoke.js', { SMOKE_BASE_URL: '' }, 'SMOKE_BASE_URL'],
    ['the Kafka access check', 'dist/runtime/checks/kafka-access.js', {}, 'allowed|refused'],
    [
      'the Elasticsearch access check',
      'dist/runtime/checks/elasticsearch-access.js',
      {},
      'KAFKA_BROKERS',
    ],
    ['the uninstall teardown', 'dist/runtime/kubernetes/teardown.js', {}, 'TEARDOWN_NAMESPACE'],
  ])('loads %s with production dependencies only', (_what, entry, env, complaint) => {
    // ES modules link their whole static import graph before running any of it, so a bad
    // configuration that stops the program at once still proves every import resolved.
    const run = spawnSync(process.execPath, [entry], {
      cwd: runDir,
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', ...env },
    })
    const output = `${run.stdout}\n${run.stderr}`
    expect(output).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (package|module)/)
    expect(run.signal, 'it stopped by itself').toBeNull()
    expect(run.status, output).not.toBe(0)
    // It got as far as reading its configuration (needs Node >= 26 for import.meta.main).
    expect(output).toContain(complaint)
  })
})
