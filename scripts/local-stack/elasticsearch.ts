import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  readFile,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { request } from 'node:https'
import { dirname, join } from 'node:path'
import { stringify } from 'yaml'
import { poll } from '../../runtime/wait.ts'
import type { Jdk } from './java.ts'
import type { Secret } from './kafka.ts'
import { type Daemon, type Log, run, startDaemon, tail } from './proc.ts'

export interface ElasticsearchSetup {
  dataDir: string
  distribution: string
  version: string
  jdk: Jdk
  port: number
  transportPort: number
  /** The stack's own superuser (readiness, test checks, clean-up); never the app's. */
  admin: Secret
  /** The app's file-realm users, each with one role from `roles`. */
  users: (Secret & { role: string })[]
  /** roles.yml: the file-realm roles, as the chart defines them for ECK. */
  roles: Record<string, unknown>
  log: Log
}

// Elasticsearch refuses to run as root; as root we run it (and its tools) as nobody:nogroup.
const esUid = 65534
const esGid = 65534
const asRoot = process.getuid?.() === 0

function everyAncestorTraversable(dir: string): Promise<boolean> {
  const checks: Promise<boolean>[] = []
  for (let d = dirname(dir); ; d = dirname(d)) {
    checks.push(lstat(d).then((st) => (st.mode & 0o001) !== 0))
    if (dirname(d) === d) break
  }
  return Promise.all(checks).then((all) => all.every(Boolean))
}

/**
 * Where Elasticsearch's copy of the distribution, config, data, logs and temp files live.
 * Normally `<dataDir>/elasticsearch`. As root, that only works if the unprivileged user can reach
 * it: a temp dataDir under /tmp can (we just add o+x to dataDir itself), but one below /root
 * (mode 700, e.g. npm start's under ~/.cache) cannot, and widening /root is not ours to do. Then
 * it lives in world-traversable /var/tmp/icecream-es-<hash of dataDir>, and
 * `<dataDir>/elasticsearch` is a symlink to it, so everything is still found from the dataDir.
 */
async function elasticsearchRoot(dataDir: string): Promise<string> {
  const inside = join(dataDir, 'elasticsearch')
  if (!asRoot) return inside
  const link = await lstat(inside).catch(() => undefined)
  if (link?.isSymbolicLink()) return realpath(inside)
  if (link || (await everyAncestorTraversable(dataDir))) {
    const st = await lstat(dataDir)
    await chmod(dataDir, (st.mode & 0o777) | 0o001)
    return inside
  }
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12)
  const outside = `/var/tmp/icecream-es-${hash}`
  // No link means a new dataDir: what an earlier one at the same path left there (its users,
  // certificates and data) belongs to credentials that are gone.
  await rm(outside, { recursive: true, force: true })
  await mkdir(outside, { recursive: true })
  const st = await lstat(outside)
  if (!st.isDirectory() || (st.uid !== 0 && st.uid !== esUid)) {
    throw new Error(`${outside} exists but is not a directory owned by root or uid ${esUid}`)
  }
  await symlink(outside, inside)
  return outside
}

export interface PreparedElasticsearch {
  root: string
  home: string
  env: NodeJS.ProcessEnv
  /** Runs `command` as the user Elasticsearch runs as. */
  asEsUser(command: string, args: string[]): [string, string[]]
}

/** Copies the distribution into the stack's own folder, creates certificates once, and the roles and users. */
export async function prepareElasticsearch(s: ElasticsearchSetup): Promise<PreparedElasticsearch> {
  const root = await elasticsearchRoot(s.dataDir)
  const home = join(root, `home-${s.version}`)
  const tmp = join(root, 'tmp')
  const heap = process.env.ICECREAM_ES_HEAP || '1g'
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmp,
    ES_TMPDIR: tmp,
    ES_JAVA_HOME: s.jdk.home,
    ES_JAVA_OPTS: `-Xms${heap} -Xmx${heap}`,
  }
  const asEsUser = (command: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['setpriv', [`--reuid=${esUid}`, `--regid=${esGid}`, '--clear-groups', command, ...args]]
      : [command, args]
  const toolLog = join(s.dataDir, 'logs', 'elasticsearch-setup.log')
  const tool = (command: string, args: string[]) =>
    run(...asEsUser(command, args), { logFile: toolLog, env, cwd: tmp })

  await mkdir(root, { recursive: true })
  if (!existsSync(home)) {
    s.log(`copying Elasticsearch ${s.version} into ${root} (a few seconds)`)
    // Its own copy: the cache may be unreadable for the ES user, and config/ is written to.
    await run('cp', ['-a', s.distribution, `${home}.tmp`], { logFile: toolLog })
    await run('mv', [`${home}.tmp`, home], { logFile: toolLog })
  }
  for (const dir of ['data', 'logs', 'tmp']) await mkdir(join(root, dir), { recursive: true })
  if (asRoot) await run('chown', ['-R', `${esUid}:${esGid}`, root], { logFile: toolLog })

  const certs = join(home, 'config', 'certs')
  if (!existsSync(join(certs, 'http.crt'))) {
    s.log('creating a CA and an HTTPS certificate with elasticsearch-certutil (about 10 s)')
    const certutil = join(home, 'bin', 'elasticsearch-certutil')
    await tool(certutil, ['ca', '--pem', '--silent', '--out', join(tmp, 'ca.zip')])
    await tool('unzip', ['-o', '-q', join(tmp, 'ca.zip'), '-d', tmp])
    await tool(certutil, [
      'cert',
      '--pem',
      '--silent',
      '--ca-cert',
      join(tmp, 'ca', 'ca.crt'),
      '--ca-key',
      join(tmp, 'ca', 'ca.key'),
      '--name',
      'http',
      '--ip',
      '127.0.0.1',
      '--dns',
      'localhost',
      '--out',
      join(tmp, 'http.zip'),
    ])
    await tool('unzip', ['-o', '-q', join(tmp, 'http.zip'), '-d', tmp])
    await tool('mkdir', ['-p', certs])
    await tool('cp', [
      join(tmp, 'ca', 'ca.crt'),
      join(tmp, 'http', 'http.crt'),
      join(tmp, 'http', 'http.key'),
      certs,
    ])
    await tool('rm', [
      '-rf',
      join(tmp, 'ca'),
      join(tmp, 'http'),
      join(tmp, 'ca.zip'),
      join(tmp, 'http.zip'),
    ])
  }

  // The file realm reloads roles.yml by itself; users are (re)made only when they changed.
  await writeFile(join(home, 'config', 'roles.yml'), stringify(s.roles), { mode: 0o644 })
  const wanted = [{ ...s.admin, role: 'superuser' }, ...s.users]
  const fingerprint = createHash('sha256').update(JSON.stringify(wanted)).digest('hex')
  const fingerprintFile = join(root, 'users.sha256')
  if ((await readFile(fingerprintFile, 'utf8').catch(() => '')) !== fingerprint) {
    s.log(`creating ${wanted.length} file-realm users (about ${wanted.length * 4} s, once)`)
    const usersTool = join(home, 'bin', 'elasticsearch-users')
    const existing = (await readFile(join(home, 'config', 'users'), 'utf8').catch(() => ''))
      .split('\n')
      .map((line) => line.split(':')[0])
      .filter(Boolean)
    for (const name of existing) await tool(usersTool, ['userdel', name as string])
    for (const { username, password, role } of wanted) {
      await tool(usersTool, ['useradd', username, '-p', password, '-r', role])
    }
    await writeFile(fingerprintFile, fingerprint)
  }
  return { root, home, env, asEsUser }
}

export async function startElasticsearch(
  s: ElasticsearchSetup,
  es: PreparedElasticsearch,
): Promise<Daemon> {
  // A start killed while Elasticsearch wrote its keystore leaves this behind, and every later
  // start then dies on it (FileAlreadyExistsException) before it logs anything else.
  await rm(join(es.home, 'config', 'elasticsearch.keystore.tmp'), { force: true })
  // Rewritten on every start so ports follow the options. Security as on ECK: HTTPS + basic auth.
  await writeFile(
    join(es.home, 'config', 'elasticsearch.yml'),
    `cluster.name: icecream-local
node.name: icecream-local
network.host: 127.0.0.1
http.port: ${s.port}
transport.port: ${s.transportPort}
discovery.type: single-node
path.data: ${join(es.root, 'data')}
path.logs: ${join(es.root, 'logs')}
# Must be explicit: without it the first start attempts security auto-configuration and dies.
xpack.security.enabled: true
xpack.security.http.ssl.enabled: true
xpack.security.http.ssl.certificate: certs/http.crt
xpack.security.http.ssl.key: certs/http.key
xpack.security.transport.ssl.enabled: false
# A nearly full developer disk should not turn indices read-only under the tests.
cluster.routing.allocation.disk.threshold_enabled: false
`,
  )
  s.log(
    `starting Elasticsearch on https://127.0.0.1:${s.port} with Java ${s.jdk.major} (${s.jdk.home})` +
      (asRoot ? `, as uid ${esUid} because it refuses root` : ''),
  )
  const [command, args] = es.asEsUser(join(es.home, 'bin', 'elasticsearch'), [])
  return startDaemon(command, args, {
    logFile: join(s.dataDir, 'logs', 'elasticsearch.log'),
    pidFile: join(s.dataDir, 'run', 'elasticsearch.pid'),
    env: es.env,
    cwd: es.home,
  })
}

/** The CA certificate as PEM, outside the ES folder, for clients (`caFile`). */
export async function exportCa(s: ElasticsearchSetup, es: PreparedElasticsearch): Promise<string> {
  const caFile = join(s.dataDir, 'elasticsearch-ca.pem')
  await copyFile(join(es.home, 'config', 'certs', 'ca.crt'), caFile)
  return caFile
}

function clusterHealth(s: ElasticsearchSetup, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: s.port,
        path: '/_cluster/health?wait_for_status=yellow&timeout=2s',
        ca,
        auth: `${s.admin.username}:${s.admin.password}`,
        timeout: 10_000,
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${body}`))
          resolve((JSON.parse(body) as { status: string }).status)
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}

/** Ready when cluster health (GET / is missing in this distribution) is yellow or green over HTTPS. */
export async function waitForElasticsearch(
  s: ElasticsearchSetup,
  daemon: Daemon,
  caFile: string,
  // A hang guard only: on a busy two-core machine (several stacks at once) it has taken over 4 min.
  timeoutMs = 600_000,
): Promise<void> {
  const logFile = join(s.dataDir, 'logs', 'elasticsearch.log')
  const ca = await readFile(caFile)
  const timeout = AbortSignal.timeout(timeoutMs)
  let lastAnswer = 'none yet'
  try {
    await poll(
      async () => {
        lastAnswer = await clusterHealth(s, ca).then(
          (status) => `status ${status}`,
          (error: Error) => error.message,
        )
        return /^status (yellow|green)$/.test(lastAnswer) || undefined
      },
      { signal: AbortSignal.any([daemon.ended, timeout]), intervalMs: 1000 },
    )
  } catch (error) {
    const why = daemon.ended.aborted
      ? `exited with code ${daemon.ended.reason} while starting`
      : timeout.aborted
        ? `was not healthy within ${timeoutMs / 1000} s (last answer: ${lastAnswer})`
        : undefined
    if (!why) throw error
    throw new Error(`Elasticsearch ${why}; last lines of ${logFile}:\n${await tail(logFile)}`)
  }
}
