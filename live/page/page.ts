/// <reference lib="dom" />
/**
 * The live page in the browser: one EventSource on /live/stream, a snapshot a second. Rates,
 * the lag's trend and time to drain are derived here from consecutive snapshots; charts are
 * uPlot. The controls send the token the page asked for once (kept in sessionStorage).
 */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { maxLoadRatePerSecond, maxLoadSeconds, maxReplays } from '../limits.ts'
// Types only: the shapes are zod on the server, and zod stays out of this bundle.
import type { DeadLetter, LoadStatus, PartitionPosition, Snapshot } from '../ports.ts'
import './page.css'

const windowSeconds = 300
const rateOverSeconds = 3
// Short enough that a resume shows as draining within seconds, long enough to smooth the
// committed offsets' steps (one per stored batch).
const trendOverSeconds = 8
const tokenKey = 'icecream-control-token'

const $ = <T extends HTMLElement = HTMLElement>(selector: string) =>
  document.querySelector(selector) as T
const text = (selector: string, value: string) => {
  $(selector).textContent = value
}
const testId = (id: string) => `[data-testid="${id}"]`
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const format = {
  rate: (value: number | null) =>
    value === null ? '–' : value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString(),
  count: (value: number | null) => (value === null ? '–' : value.toLocaleString()),
  seconds(value: number | null) {
    if (value === null || !Number.isFinite(value)) return '–'
    if (value < 1) return `${Math.round(value * 1000)} ms`
    if (value < 120) return `${value.toFixed(1)} s`
    return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`
  },
  time: (iso: string) => new Date(iso).toLocaleTimeString(),
}

// --- The time series, kept for the last five minutes.
const history: { t: number; accepted: number; stored: number; p99: number | null; lag: number }[] =
  []
let previous: { t: number; end: number; committed: number }[] = []

function rateOf(key: 'end' | 'committed', now: { t: number; end: number; committed: number }) {
  const base = previous.find((p) => now.t - p.t <= rateOverSeconds) ?? previous[0]
  if (!base || now.t === base.t) return null
  return Math.max(0, (now[key] - base[key]) / (now.t - base.t))
}

/** Least-squares slope of the lag over the last seconds: events per second, negative = draining. */
function lagTrend(): number | null {
  const latest = history.at(-1)
  const points = latest ? history.filter((h) => latest.t - h.t <= trendOverSeconds) : []
  if (points.length < 3) return null
  const n = points.length
  const mt = points.reduce((s, p) => s + p.t, 0) / n
  const ml = points.reduce((s, p) => s + p.lag, 0) / n
  const num = points.reduce((s, p) => s + (p.t - mt) * (p.lag - ml), 0)
  const den = points.reduce((s, p) => s + (p.t - mt) ** 2, 0)
  return den === 0 ? null : num / den
}

const chartSize = (element: HTMLElement) => ({
  width: Math.max(320, element.clientWidth),
  height: 220,
})
const flowElement = $('#flow-chart')
const flowChart = new uPlot(
  {
    ...chartSize(flowElement),
    series: [
      {},
      { label: 'accepted/s', stroke: '#e0779b', width: 2 },
      { label: 'stored/s', stroke: '#4f9d8f', width: 2 },
      { label: 'API p99 ms', stroke: '#8a7bd1', width: 1, dash: [4, 4], scale: 'ms' },
    ],
    axes: [{}, { label: 'events/s' }, { side: 1, scale: 'ms', label: 'ms', grid: { show: false } }],
    scales: { x: { time: true } },
    // The series' names only: values under the cursor are noise on a page that moves every second.
    legend: { live: false },
  },
  [[], [], [], []],
  flowElement,
)
const lagElement = $('#lag-chart')
const lagChart = new uPlot(
  {
    ...chartSize(lagElement),
    series: [
      {},
      { label: 'lag', stroke: '#d9534f', fill: 'rgba(217,83,79,.12)', width: 2 },
      { label: 'trend', stroke: '#7a6f7f', dash: [6, 4], width: 1 },
    ],
    axes: [{}, { label: 'events' }],
    scales: { x: { time: true } },
    legend: { live: false },
  },
  [[], [], []],
  lagElement,
)
window.addEventListener('resize', () => {
  flowChart.setSize(chartSize(flowElement))
  lagChart.setSize(chartSize(lagElement))
})

function render(snapshot: Snapshot) {
  const t = Date.parse(snapshot.at) / 1000
  const partitions = snapshot.partitions ?? []
  const totals = {
    t,
    end: partitions.reduce((s, p) => s + p.end, 0),
    committed: partitions.reduce((s, p) => s + p.committed, 0),
  }
  const accepted = snapshot.partitions ? rateOf('end', totals) : null
  const stored = snapshot.partitions ? rateOf('committed', totals) : null
  previous = [...previous.filter((p) => t - p.t <= rateOverSeconds + 1), totals]
  const lag = totals.end - totals.committed
  if (snapshot.partitions) {
    history.push({ t, accepted: accepted ?? 0, stored: stored ?? 0, p99: snapshot.apiP99, lag })
  }
  while (t - (history[0]?.t ?? t) > windowSeconds) history.shift()

  text(testId('accepted-rate'), format.rate(accepted))
  text(testId('stored-rate'), format.rate(stored))
  text(testId('api-p99'), format.seconds(snapshot.apiP99))
  text(testId('total-lag'), snapshot.partitions ? lag.toLocaleString() : '–')
  const trend = lagTrend()
  text(
    testId('lag-trend'),
    trend === null
      ? 'events waiting'
      : lag === 0
        ? 'nothing waiting'
        : trend > 0.5
          ? `growing ${format.rate(trend)}/s`
          : trend < -0.5
            ? `draining ${format.rate(-trend)}/s`
            : 'steady',
  )
  text(
    testId('drain-time'),
    lag === 0
      ? 'drained'
      : trend !== null && trend < -0.5
        ? format.seconds(lag / -trend)
        : trend !== null && trend > 0.5
          ? 'growing'
          : '–',
  )
  const waitingSince = partitions.flatMap((p) =>
    p.oldestWaitingSince ? [Date.parse(p.oldestWaitingSince)] : [],
  )
  text(
    testId('oldest-age'),
    waitingSince.length ? format.seconds(t - Math.min(...waitingSince) / 1000) : 'none waiting',
  )
  text(
    testId('freshness'),
    `${format.seconds(snapshot.freshness.p50)} · ${format.seconds(snapshot.freshness.p99)}`,
  )
  text(
    testId('freshness-samples'),
    `canary: 202 → searchable (${snapshot.freshness.samples} samples)`,
  )
  text(testId('documents'), format.count(snapshot.documents))
  text(testId('dead-letter-count'), format.count(snapshot.deadLetters))

  const xs = history.map((h) => h.t)
  flowChart.setData([
    xs,
    history.map((h) => h.accepted),
    history.map((h) => h.stored),
    history.map((h) => (h.p99 === null ? null : h.p99 * 1000)),
  ])
  const last = history.at(-1)
  lagChart.setData([
    xs,
    history.map((h) => h.lag),
    history.map((h) =>
      trend === null || !last || last.t - h.t > trendOverSeconds
        ? null
        : Math.max(0, last.lag + trend * (h.t - last.t)),
    ),
  ])

  renderPartitions(partitions)
  renderGroup(snapshot)
  renderPurchases(snapshot)
  renderLoad(snapshot.load)
  // The API reads the dead letters' contents a moment after their count moves: ask again with
  // each snapshot while there are any.
  if (snapshot.deadLetters) void loadDeadLetters()
}

function renderPartitions(partitions: PartitionPosition[]) {
  const max = Math.max(1, ...partitions.map((p) => p.end))
  $('#partitions').innerHTML = partitions
    .map((p) => {
      const waiting = p.end - p.committed
      return `<div class="partition" data-partition="${p.partition}" data-lag="${waiting}">
        <b>p${p.partition}</b>
        <div class="bar"><div class="end" style="width:${(100 * p.end) / max}%"></div><div class="committed" style="width:${(100 * p.committed) / max}%"></div></div>
        <span class="numbers-text">${p.committed.toLocaleString()} / ${p.end.toLocaleString()}${waiting ? ` · <b style="color:var(--lag)">${waiting.toLocaleString()} waiting</b>` : ''}</span>
      </div>`
    })
    .join('')
}

function renderGroup(snapshot: Snapshot) {
  const members = snapshot.members
  $('#members').innerHTML =
    members === null
      ? '<li class="muted">unknown (Kafka unreachable)</li>'
      : members.length === 0
        ? '<li class="muted">no members: nothing is consuming</li>'
        : members
            .map(
              (m) =>
                `<li data-member="${escapeHtml(m.id)}" data-partitions="${m.partitions.join(',')}"><span class="member-name" title="${escapeHtml(`${m.clientId} @ ${m.host}`)}">${escapeHtml(m.id)}</span>${m.partitions.map((p) => `<span class="chip">p${p}</span>`).join('') || '<span class="muted">none</span>'}</li>`,
            )
            .join('')
  $('#members').dataset.count = String(members?.length ?? 0)
  const now = Date.parse(snapshot.at)
  $('#rebalance-track').innerHTML = snapshot.rebalances
    .filter((r) => now - Date.parse(r.at) < windowSeconds * 1000)
    .map(
      (r) =>
        `<span title="${format.time(r.at)}" style="left:${100 - ((now - Date.parse(r.at)) / (windowSeconds * 1000)) * 100}%"></span>`,
    )
    .join('')
  $('#rebalances').innerHTML = snapshot.rebalances
    .toReversed()
    .map(
      (r) =>
        `<li>${format.time(r.at)}: ${r.members} member${r.members === 1 ? '' : 's'}, ${r.moved} partition${r.moved === 1 ? '' : 's'} moved${
          r.unownedMs > 0
            ? `, partitions without an owner for about ${format.seconds(r.unownedMs / 1000)}`
            : ` between two readings ${format.seconds(r.readingsApartMs / 1000)} apart`
        }</li>`,
    )
    .join('')
  $('#rebalances').dataset.count = String(snapshot.rebalances.length)
}

function renderPurchases(snapshot: Snapshot) {
  $('#purchases').innerHTML = (snapshot.latestPurchases ?? [])
    .map(
      (p) =>
        `<tr><td>${format.time(p.received_at)}</td><td title="${escapeHtml(p.shop_id)}">${escapeHtml(p.shop_id.slice(0, 8))}</td><td>${escapeHtml(p.scoops.map((s) => `${s.quantity}× ${s.type}`).join(', '))}</td><td>$${(p.total_cents / 100).toFixed(2)}</td></tr>`,
    )
    .join('')
}

function renderLoad(load: LoadStatus) {
  text(
    '#load-status',
    load.running
      ? `Running at ${load.ratePerSecond}/s until ${load.endsAt ? format.time(load.endsAt) : '–'}: ${load.accepted.toLocaleString()} of ${load.sent.toLocaleString()} accepted.`
      : load.sent > 0
        ? `Last load: ${load.accepted.toLocaleString()} of ${load.sent.toLocaleString()} accepted.`
        : '',
  )
}

// --- Controls: each request carries the token; a 401 forgets it and asks again.

function token(): string | null {
  const fromLink = new URLSearchParams(location.hash.slice(1)).get('token')
  if (fromLink) {
    sessionStorage.setItem(tokenKey, fromLink)
    history_replace()
  }
  let stored = sessionStorage.getItem(tokenKey)
  if (!stored) {
    stored = prompt('The demo control token (DEMO_CONTROL_TOKEN):')?.trim() || null
    if (stored) sessionStorage.setItem(tokenKey, stored)
  }
  return stored
}
function history_replace() {
  window.history.replaceState(null, '', location.pathname)
}

async function control(method: string, path: string, body?: unknown): Promise<Response | null> {
  const bearer = token()
  if (!bearer) return null
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  if (response.status === 401) sessionStorage.removeItem(tokenKey)
  if (response.status === 404 && path.startsWith('/live/')) {
    $('#controls-off').hidden = false
  }
  return response
}

/** Shows a control's answer beside the control that was used. */
async function say(result: HTMLElement, response: Response | null) {
  if (!response) return
  const answer = await response.json().catch(() => ({}))
  result.className = response.ok ? 'result' : 'result error'
  // The load's answer is its status, which the line above it already shows.
  result.textContent = response.ok
    ? answer.watch
      ? `Sent. Watch: ${answer.watch}`
      : ''
    : `${response.status} ${answer.title ?? ''}${answer.detail ? `: ${answer.detail}` : ''}`
}

$<HTMLInputElement>('#load-rate').max = String(maxLoadRatePerSecond)
$<HTMLInputElement>('#load-duration').max = String(maxLoadSeconds)

const actions: Record<string, () => Promise<Response | null>> = {
  'load-start': () =>
    control('POST', '/live/load', {
      rate_per_second: Number($<HTMLInputElement>('#load-rate').value),
      duration_seconds: Number($<HTMLInputElement>('#load-duration').value),
    }),
  'load-stop': () => control('DELETE', '/live/load'),
  'consumers-pause': () => control('POST', '/live/consumers/pause'),
  'consumers-resume': () => control('POST', '/live/consumers/resume'),
  'consumers-add': () => control('POST', '/live/consumers/add'),
  'consumers-remove': () => control('POST', '/live/consumers/remove'),
  poison: () => control('POST', '/live/poison'),
}

document.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest('button')
  if (!button) return
  const action = button.dataset.action
  const redrive = button.dataset.redrive
  const run = action
    ? actions[action]
    : redrive
      ? () => control('POST', `/live/dead-letters/${redrive}/redrive`)
      : undefined
  if (!run) return
  const result = button.closest('.control, .panel')?.querySelector<HTMLElement>('.result')
  if (!result) return
  button.disabled = true
  run()
    .then((response) => say(result, response))
    .catch((error: unknown) => {
      result.className = 'result error'
      result.textContent = String(error)
    })
    .finally(() => {
      button.disabled = false
    })
})

async function loadDeadLetters() {
  const bearer = sessionStorage.getItem(tokenKey)
  if (!bearer) {
    $('#dead-letters').innerHTML =
      '<tr><td colspan="5" class="muted">contents need the control token: use a control first</td></tr>'
    return
  }
  const response = await fetch('/live/dead-letters?limit=8', {
    headers: { authorization: `Bearer ${bearer}` },
  })
  if (!response.ok) return
  const { dead_letters: letters } = (await response.json()) as { dead_letters: DeadLetter[] }
  $('#dead-letters').innerHTML = letters
    .map(
      (l) =>
        `<tr data-offset="${escapeHtml(l.offset)}"><td>${escapeHtml(l.offset)}</td><td title="${escapeHtml(l.reason)}">${escapeHtml(l.reason)}</td><td title="${escapeHtml(l.origin.topic)}">${escapeHtml(`p${l.origin.partition} @${l.origin.offset} · ${l.origin.topic}`)}</td><td>${l.replays}</td><td><button type="button" class="small secondary" data-redrive="${escapeHtml(l.offset)}" ${l.replays >= maxReplays ? 'disabled' : ''}>Redrive</button></td></tr>`,
    )
    .join('')
}

// --- The stream.
const connection = $('#connection')
const stream = new EventSource('/live/stream')
stream.addEventListener('snapshot', (event) => {
  connection.textContent = 'live'
  connection.className = 'pill live'
  render(JSON.parse((event as MessageEvent<string>).data) as Snapshot)
  document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1)
})
stream.addEventListener('error', () => {
  connection.textContent = 'reconnecting…'
  connection.className = 'pill down'
})
if (location.hash.includes('token=')) token()
