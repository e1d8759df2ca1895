/**
 * A keep-alive HTTP client for the bench's own requests (open-loop POSTs, polling GETs, queries):
 * node:http with a pooled agent costs the bench process less CPU per request than fetch, and the
 * bench shares the cores with what it measures.
 */
import { Agent, request } from 'node:http'

const agent = new Agent({ keepAlive: true, maxSockets: 512 })

export interface Answer {
  status: number
  body: string
}

export function call(
  url: string,
  method: 'GET' | 'POST',
  body?: string,
  timeoutMs = 10_000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method,
        agent,
        timeout: timeoutMs,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        )
        response.on('error', reject)
      },
    )
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

/** Sums every sample of a Prometheus metric (all label sets) from a /metrics page. */
export async function metricTotal(url: string, name: string): Promise<number> {
  const { body } = await call(`${url}/metrics`, 'GET')
  return body
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
}
