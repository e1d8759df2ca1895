// What the live page (issue 11) adds to the app and the chart already relies on: the variables the
// chart sets and the metrics the dashboard and alerts query. Until runtime/config.ts reads any of
// these variables the live page is not merged, and the chart tests take this list as the app's
// word; once it reads one, every name here must really be in the app (config and metrics registry),
// so a missing one fails the tests. Remove this module when the live page has been merged.
import { environmentVariables } from '../../runtime/config.ts'

export const livePageVariables = [
  'LIVE_PAGE',
  'DEMO_CONTROLS',
  'DEMO_CONTROL_TOKEN',
  'CANARY_INTERVAL_MS',
] as const

/** Metrics of the live page's canary: name -> type and label names, as in runtime/metrics.ts. */
export const livePageMetrics: Record<string, { type: 'histogram'; labelNames: string[] }> = {
  canary_freshness_seconds: { type: 'histogram', labelNames: [] },
}

export const livePageMerged = livePageVariables.some((v) => environmentVariables.includes(v))
