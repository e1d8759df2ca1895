/**
 * The live page in a real browser (Debian's Chromium through playwright-core) against the real
 * stack: an API and a consumer with the chart's privileges, the page's controls behind a token.
 * Each state is kept as a screenshot in test/artifacts/live-page/ (git-ignored), and what the
 * page showed (peak lag, time to drain, rebalance, freshness) in summary.json beside them.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { appMetrics } from '../chart/exported-series.ts'
import { isolatedPrefix, startTestApp, type TestApp } from '../support/app.ts'
import { launchChromium } from '../support/chromium.ts'

const artifacts = join(import.meta.dirname, '..', 'artifacts', 'live-page')
const token = 'browser-test-control-token-0123456789'
// Kafka and Elasticsearch on a shared two-core machine: give each state its time.
const slow = { timeout: 90_000, intervals: [250] }

let api: TestApp
let consumer: TestApp
let browser: Browser
let page: Page
const consoleErrors: string[] = []
const shown: Record<string, unknown> = {}

const number = async (testId: string) =>
  Number(((await page.getByTestId(testId).textContent()) ?? '').replace(/[^\d.]/g, '') || 'NaN')
const lag = () => number('total-lag')
const shot = (name: string) =>
  page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true })
const click = (action: string) => page.locator(`button[data-action="${action}"]`).click()
const members = () =>
  page
    .locator('#members li[data-member]')
    .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.partitions ?? ''))

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true })
  const built = spawnSync(process.execPath, ['live/page/build.ts'], {
    stdio: 'inherit',
  })
  expect(built.status).toBe(0)
  const env = {
    KAFKA_NAME_PREFIX: isolatedPrefix(),
    DEMO_CONTROLS: 'true',
    DEMO_CONTROL_TOKEN: token,
    CANARY_INTERVAL_MS: '1000',
  }
  ;[api, consumer] = await Promise.all([
    startTestApp({ ...env, ROLE: 'api' }),
    startTestApp({ ...env, ROLE: 'consumer' }),
  ])
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text())
  })
  page.on('pageerror', (error) => consoleErrors.push(String(error)))
}, 180_000)

afterAll(async () => {
  writeFileSync(join(artifacts, 'summary.json'), `${JSON.stringify(shown, null, 2)}\n`)
  process.stderr.write(`live page showed: ${JSON.stringify(shown)}\n`)
  await browser?.close()
  await Promise.all([api?.stop(), consumer?.stop()])
})

describe('the live page, in a browser, on the real stack', () => {
  test('loads from the API with its assets and stream, and no console errors', async () => {
    await page.goto(`${api.url}/#token=${token}`)
    await expect
      .poll(() => page.locator('body').getAttribute('data-snapshots'), slow)
      .toMatch(/^[2-9]|\d\d/)
    await expect.poll(() => page.getByTestId('documents').textContent(), slow).toMatch(/\d/)
    await expect.poll(() => members(), slow).toHaveLength(1)
    expect(consoleErrors).toEqual([])
    await shot('1-loaded')
  })

  test('starting the load raises accepted and stored rates', async () => {
    await page.fill('#load-rate', '150')
    await page.fill('#load-duration', '120')
    await click('load-start')
    await expect.poll(() => number('accepted-rate'), slow).toBeGreaterThan(50)
    await expect.poll(() => number('stored-rate'), slow).toBeGreaterThan(50)
    // Before any pause: the canary's samples so far waited behind nothing but the load.
    shown.freshnessUnderLoad = await page.getByTestId('freshness').textContent()
    await shot('2-load')
  })

  test('pausing the consumers raises the lag; resuming drains it to zero', async () => {
    await click('consumers-pause')
    await expect.poll(lag, slow).toBeGreaterThan(500)
    await expect.poll(() => page.getByTestId('lag-trend').textContent(), slow).toContain('growing')
    await shot('3-paused')
    await click('load-stop')
    const peak = await lag()
    shown.peakLag = peak
    const resumed = performance.now()
    await click('consumers-resume')
    await expect.poll(lag, slow).toBe(0)
    shown.secondsToDrain = Number(((performance.now() - resumed) / 1000).toFixed(1))
    await expect.poll(() => page.getByTestId('drain-time').textContent(), slow).toBe('drained')
    await shot('4-drained')
  })

  test('adding a consumer moves partitions to it, and the rebalance shows', async () => {
    const before = Number(await page.locator('#rebalances').getAttribute('data-count'))
    const added = performance.now()
    await click('consumers-add')
    await expect
      .poll(async () => {
        const owned = await members()
        return owned.length === 2 && owned.every((partitions) => partitions !== '')
      }, slow)
      .toBe(true)
    // From the click to the page showing both members with partitions: the rebalance as watched.
    shown.secondsToRebalance = Number(((performance.now() - added) / 1000).toFixed(1))
    await expect
      .poll(async () => Number(await page.locator('#rebalances').getAttribute('data-count')), slow)
      .toBeGreaterThan(before)
    const newest = page.locator('#rebalances li').first()
    await expect.poll(() => newest.textContent(), slow).toMatch(/ [1-9]\d* partitions? moved/)
    const answer = page.locator('.control:has([data-action="consumers-add"]) .result')
    await expect.poll(() => answer.textContent(), slow).toMatch(/^Sent\. Watch: /)
    shown.partitionsAfterAdd = await members()
    shown.rebalance = await newest.textContent()
    await shot('5-added-a-member')
  })

  test('removing that member moves its partitions back to the one left', async () => {
    const before = Number(await page.locator('#rebalances').getAttribute('data-count'))
    await click('consumers-remove')
    await expect.poll(() => members(), slow).toEqual(['0,1,2,3,4,5'])
    await expect
      .poll(async () => Number(await page.locator('#rebalances').getAttribute('data-count')), slow)
      .toBeGreaterThan(before)
    await expect
      .poll(() => page.locator('#rebalances li').first().textContent(), slow)
      .toMatch(/: 1 member, [1-9]\d* partitions? moved/)
    await shot('6-removed-the-member')
  })

  test('a poison message raises the dead-letter count; redrive puts it back', async () => {
    await expect.poll(() => number('dead-letter-count'), slow).not.toBeNaN()
    const before = await number('dead-letter-count')
    await click('poison')
    await expect.poll(() => number('dead-letter-count'), slow).toBe(before + 1)
    const newest = page.locator('#dead-letters tr').first()
    await expect.poll(() => newest.textContent(), slow).toContain('purchases')
    await expect.poll(() => newest.locator('td').nth(3).textContent(), slow).toBe('0')
    await shot('7-poison')
    await newest.locator('button[data-redrive]').click()
    // Back in the topic, it fails again: one more dead letter, its replay count one higher.
    await expect.poll(() => number('dead-letter-count'), slow).toBe(before + 2)
    await expect
      .poll(() => page.locator('#dead-letters tr').first().locator('td').nth(3).textContent(), slow)
      .toBe('1')
    shown.freshnessAfterPause = await page.getByTestId('freshness').textContent()
    shown.freshnessSamples = await page.getByTestId('freshness-samples').textContent()
    await shot('8-redriven')
    expect(consoleErrors).toEqual([])
  })

  test("the processes behind it export the registry's series with every declared label, which the dashboard and alerts are checked against", async () => {
    const scraped = await Promise.all(
      [api, consumer].map(async ({ url }) =>
        parseExposition(await (await fetch(`${url}/metrics`)).text()),
      ),
    )
    const types = new Map(scraped.flatMap(({ types }) => [...types]))
    const labelSets = scraped.flatMap(({ samples }) => samples)
    const seen = new Set<string>()
    for (const metric of appMetrics()) {
      expect(types.get(metric.name), metric.name).toBe(metric.type)
      const extra =
        metric.type === 'histogram' ? ['le'] : metric.type === 'summary' ? ['quantile'] : []
      for (const { family, series, labels } of labelSets) {
        if (family !== metric.name) continue
        seen.add(family)
        const expected = series.endsWith('_sum') || series.endsWith('_count') ? [] : extra
        expect(labels, series).toEqual([...metric.labelNames, ...expected].sort())
      }
    }
    // What the page's run did shows in the series the dashboard and the alerts read.
    for (const family of [
      'http_request_duration_seconds',
      'kafka_published_events_total',
      'kafka_consumed_events_total',
      'kafka_consumer_lag',
      'canary_freshness_seconds',
    ])
      expect(seen, family).toContain(family)
  })
})

/** The Prometheus text exposition: each family's type, and each sample's sorted label names. */
function parseExposition(text: string) {
  const types = new Map<string, string>()
  const samples: { family: string; series: string; labels: string[] }[] = []
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type) types.set(type[1] as string, type[2] as string)
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line)
    if (!sample) continue
    const series = sample[1] as string
    const family = types.has(series) ? series : series.replace(/_(bucket|sum|count)$/, '')
    const labels = [...(sample[2] ?? '').matchAll(/(\w+)="(?:[^"\\]|\\.)*"/g)].map(
      (m) => m[1] as string,
    )
    samples.push({ family, series, labels: labels.sort() })
  }
  return { types, samples }
}
