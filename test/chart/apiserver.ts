// etcd and kube-apiserver on loopback for the chart tests: started once per test run by the
// global setup, stopped after it. No kubelet or controllers: objects are validated and stored,
// nothing runs (Pods stay Pending).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import path from 'node:path'

// Two checkouts can run the chart tests at once when each sets its own ICECREAM_CHART_PORT_BASE.
const portBase = Number(process.env.ICECREAM_CHART_PORT_BASE || 22_000)
export const ports = {
  etcdClient: portBase + 379,
  etcdPeer: portBase + 380,
  apiserver: portBase + 4443,
}

export type Cluster = {
  kubeconfig: string
  server: string
  token: string
  caFile: string
  dir: string
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** CA, serving certificate for 127.0.0.1 and the service-account key pair. */
function makeCerts(dir: string): void {
  openssl(['genrsa', '-out', 'ca.key', '2048'], dir)
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-days',
      '2',
      '-subj',
      '/CN=icecream-test-ca',
      '-out',
      'ca.crt',
    ],
    dir,
  )
  openssl(['genrsa', '-out', 'apiserver.key', '2048'], dir)
  openssl(
    [
      'req',
      '-new',
      '-key',
      'apiserver.key',
      '-subj',
      '/CN=kube-apiserver',
      '-out',
      'apiserver.csr',
    ],
    dir,
  )
  writeFileSync(
    path.join(dir, 'san.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
  )
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'apiserver.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'san.ext',
      '-out',
      'apiserver.crt',
    ],
    dir,
  )
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir)
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir)
}

/**
 * A request to the API server; resolves with the status and parsed JSON body. PATCH bodies are
 * JSON merge patches. (The tests' own raw calls: subresources, status patches; the app's
 * teardown uses Kubernetes' client.)
 */
export function kubeRequest(
  cluster: Pick<Cluster, 'server' | 'token' | 'caFile'>,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const data = body === undefined ? undefined : JSON.stringify(body)
  const contentType = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(urlPath, cluster.server),
      {
        method,
        ca: readFileSync(cluster.caFile),
        headers: {
          authorization: `Bearer ${cluster.token}`,
          accept: 'application/json',
          ...(data && { 'content-type': contentType }),
        },
        timeout: 10_000,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => {
          let parsed: unknown = text
          try {
            parsed = JSON.parse(text)
          } catch {}
          resolve({
            status: res.statusCode ?? 0,
            body:
              typeof parsed === 'object' && parsed
                ? (parsed as Record<string, unknown>)
                : { text: parsed },
          })
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timed out`)))
    req.on('error', reject)
    req.end(data)
  })
}

export type WatchEvent = {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  object: {
    metadata: {
      name: string
      uid: string
      deletionTimestamp?: string
      finalizers?: string[]
      annotations?: Record<string, string>
    }
    [key: string]: unknown
  }
}

/**
 * Watches a collection (urlPath without query) from now on and calls `onEvent` for each change,
 * existing objects first (as ADDED). Resolves with a function that stops the watch.
 */
export function kubeWatch(
  cluster: Pick<Cluster, 'server' | 'token' | 'caFile'>,
  urlPath: string,
  onEvent: (event: WatchEvent) => void,
): Promise<() => void> {
  const url = new URL(`${urlPath}?watch=1&allowWatchBookmarks=false`, cluster.server)
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        ca: readFileSync(cluster.caFile),
        headers: { authorization: `Bearer ${cluster.token}`, accept: 'application/json' },
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`watch ${urlPath}: ${res.statusCode}`))
        let buffer = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          buffer += chunk
          for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
            const line = buffer.slice(0, nl)
            buffer = buffer.slice(nl + 1)
            if (line.trim()) onEvent(JSON.parse(line) as WatchEvent)
          }
        })
        // Stopping destroys the stream on purpose: its "aborted" error is expected.
        res.on('error', () => {})
        resolve(() => req.destroy())
      },
    )
    req.on('error', reject)
    req.end()
  })
}

export type Started = { cluster: Cluster; stop: () => Promise<void> }

function stopProcess(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve()
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000)
    p.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    p.kill('SIGTERM')
  })
}

/** Starts etcd and kube-apiserver in dir (wiped first); waits until /readyz answers ok. */
export async function startCluster(
  dir: string,
  etcdBin: string,
  apiserverBin: string,
): Promise<Started> {
  for (const [name, port] of Object.entries(ports)) {
    if (!(await portFree(port))) {
      throw new Error(
        `port ${port} (${name}) on 127.0.0.1 is taken: another chart test run (or something else) uses it; stop it and retry`,
      )
    }
  }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  makeCerts(dir)
  const token = `icecream-${Date.now()}-${Math.random().toString(36).slice(2)}`
  writeFileSync(path.join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`)

  const etcdLog = openSync(path.join(dir, 'etcd.log'), 'a')
  const etcd = spawn(
    etcdBin,
    [
      '--name=test',
      `--data-dir=${path.join(dir, 'etcd-data')}`,
      `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-cluster=test=http://127.0.0.1:${ports.etcdPeer}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { stdio: ['ignore', etcdLog, etcdLog] },
  )
  const apiLog = openSync(path.join(dir, 'kube-apiserver.log'), 'a')
  const apiserver = spawn(
    apiserverBin,
    [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${path.join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${path.join(dir, 'apiserver.key')}`,
      `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
      // It exits over 127.0.0.1 with the default reconciler; no controller-manager creates the
      // default service accounts, so the ServiceAccount admission plugin would block every Pod.
      '--endpoint-reconciler-type=none',
      '--disable-admission-plugins=ServiceAccount',
      `--cert-dir=${path.join(dir, 'certs')}`,
    ],
    { stdio: ['ignore', apiLog, apiLog] },
  )
  const stop = async () => {
    await stopProcess(apiserver)
    await stopProcess(etcd)
  }
  const cluster: Cluster = {
    dir,
    token,
    caFile: path.join(dir, 'ca.crt'),
    server: `https://127.0.0.1:${ports.apiserver}`,
    kubeconfig: path.join(dir, 'kubeconfig'),
  }
  writeFileSync(
    cluster.kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `  - name: test\n    cluster:\n      server: ${cluster.server}\n      certificate-authority: ${cluster.caFile}`,
      `users:\n  - name: admin\n    user:\n      token: ${token}`,
      'contexts:\n  - name: test\n    context: { cluster: test, user: admin }',
      'current-context: test',
      '',
    ].join('\n'),
    { mode: 0o600 },
  )
  const deadline = Date.now() + 90_000
  for (;;) {
    for (const [name, p] of [
      ['etcd', etcd],
      ['kube-apiserver', apiserver],
    ] as const) {
      if (p.exitCode !== null) {
        await stop()
        const log = readFileSync(path.join(dir, `${name}.log`), 'utf8')
          .split('\n')
          .slice(-15)
          .join('\n')
        throw new Error(`${name} exited with ${p.exitCode} while starting; last log lines:\n${log}`)
      }
    }
    try {
      const r = await kubeRequest(cluster, 'GET', '/readyz')
      if (r.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(
        `kube-apiserver was not ready in 90 s; see ${path.join(dir, 'kube-apiserver.log')}`,
      )
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return { cluster, stop }
}
