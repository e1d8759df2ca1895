/**
 * `npm run bench -- [options]`: what the queue costs and what it buys, measured on this machine
 * in one run. Parses the options, starts its own Kafka and Elasticsearch (the local harness),
 * runs the chosen scenarios of bench/scenarios/ stage by stage in paired rounds, and writes
 * bench/results/ (latest.json, the table and charts rendered from it, also in docs/benchmarks.md)
 * after each stage.
 * bench/README.md explains the scenarios and the options.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { availableParallelism, cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { startHarness } from '../scripts/local-stack/harness.ts'
import { type Bench, createBench } from './context.ts'
import { type BenchOptions, parseBenchOptions, usage } from './options.ts'
import { renderProfiles, resultsDir, writeOutputs } from './render.ts'
import { type MeasuredRow, type Results, resolveRatios } from './report.ts'
import { sampleLoad } from './rounds.ts'
import { choose, loadScenarios, type Measuring, type Scenario, stages } from './scenario.ts'

const repoRoot = join(import.meta.dirname, '..')

/** A stage's scenarios: each starts, then round after round each measures, then each finishes. */
async function runStage(bench: Bench, scenarios: Scenario[], rows: MeasuredRow[]): Promise<void> {
  const { rounds } = bench.options
  const started: [Scenario, Measuring][] = []
  let failure: unknown
  try {
    for (const scenario of scenarios) {
      bench.say(`${scenario.id}: starting (${scenario.title})`)
      started.push([scenario, await scenario.start(bench)])
    }
    for (let round = 1; round <= rounds; round++) {
      for (const [scenario, measuring] of started) {
        if (scenario.once && round > 1) continue
        bench.say(`[round ${round}/${rounds}] ${scenario.id}: ${scenario.title}`)
        await measuring.round(round)
      }
    }
  } catch (error) {
    failure = error
  }
  // Every started scenario stops its processes, even when the stage failed; rows only if not.
  for (const [scenario, measuring] of started) {
    const measured = await measuring.finish().catch((error: unknown) => {
      failure ??= error
      return []
    })
    const declared = { ceilings: scenario.ceilings }
    if (!failure)
      rows.push(...measured.map((row) => (row.id === scenario.id ? { ...declared, ...row } : row)))
  }
  if (failure) throw failure
}

async function packageVersion(name: string): Promise<string> {
  const file = join(repoRoot, 'node_modules', name, 'package.json')
  return JSON.parse(await readFile(file, 'utf8')).version
}

export async function runBench(options: BenchOptions): Promise<number> {
  const scenarios = choose(await loadScenarios(), options.scenario)
  const began = performance.now()
  const say = (line: string) => {
    const seconds = String(Math.round((performance.now() - began) / 1000)).padStart(4)
    process.stderr.write(`[bench ${seconds} s] ${line}\n`)
  }
  const load = sampleLoad(5_000, began)
  // Run in reverse order of registration at the end, on failure and on Ctrl-C.
  const closes: (() => Promise<unknown>)[] = []
  let finishing: Promise<number> | undefined
  const finish = (code: number) => {
    finishing ??= (async () => {
      for (const close of closes.reverse()) {
        await close().catch((error: unknown) => say(`cleanup failed: ${String(error)}`))
      }
      load.stop()
      say(`done in ${Math.round((performance.now() - began) / 1000)} s`)
      return code
    })()
    return finishing
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (finishing) {
        say('second interrupt: exiting now (the next run stops the stack it left behind)')
        process.exit(130)
      }
      say(`${signal}: stopping the app processes and the stack (Ctrl-C again to exit at once)`)
      void finish(130).then((code) => process.exit(code))
    })
  }

  const run = `bench-${Date.now().toString(36)}`
  const base = options['port-base']
  say(
    `scenarios: ${scenarios.map((scenario) => scenario.id).join(', ')}; ${options.rounds} rounds; ports from ${base}`,
  )
  say('building the app as the image does (npm run build: dist/)')
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' })
  const harness = startHarness({
    dataDir: options['data-dir'],
    ports: { kafka: base + 92, elasticsearch: base + 200 },
    run: {
      name: run,
      topics: scenarios.flatMap((scenario) =>
        (scenario.topics ?? []).map((topic) => ({
          ...topic,
          name: `${run}-${topic.name}`,
          replicationFactor: 1,
        })),
      ),
      indices: scenarios.flatMap((scenario) =>
        (scenario.indices ?? []).map((index) => `${run}-${index}`),
      ),
    },
    log: say,
  })
  closes.push(() => harness.stop())
  const results: Results = {
    date: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? 'unknown CPU',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      versions: {},
      load: load.samples,
    },
    settings: {
      rounds: options.rounds,
      scenarios: scenarios.map((scenario) => scenario.id).join(','),
      seed: options.seed,
      messages: options.messages,
      ...(options.seconds && { seconds: options.seconds }),
    },
    runSeconds: 0,
    rows: [],
    raw: {},
    charts: [],
    notes: [],
  }
  try {
    say(`starting Kafka and Elasticsearch in ${options['data-dir']} (about 30-60 s)`)
    const ready = await harness.ready
    results.machine.versions = {
      node: process.version,
      kafka: `${ready.stack.versions.kafka} (1 node, SASL SCRAM-SHA-512)`,
      elasticsearch: `${ready.stack.versions.elasticsearch} (1 node, HTTPS)`,
      kafkajs: await packageVersion('kafkajs'),
      '@platformatic/kafka': await packageVersion('@platformatic/kafka'),
    }
    const measured: MeasuredRow[] = []
    const profilesDir = join(resultsDir, 'profiles')
    const bench = createBench({
      ...{ options, harness, ready, run, say, profilesDir, rows: measured },
      ...{ settings: results.settings, notes: results.notes, raw: results.raw },
      defer: (close) => closes.push(close),
    })
    for (const stage of stages) {
      const these = scenarios.filter((scenario) => scenario.stage === stage)
      if (these.length === 0) continue
      // A stage that fails is reported as such; the others still measure and write their rows.
      await runStage(bench, these, measured).catch((error: unknown) => {
        if (finishing) throw error
        say(
          `${stage} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        )
        results.notes.push(`The ${stage} stage failed: ${String(error).split('\n')[0]}`)
      })
      // Written after each stage, so a run cut short still leaves what it measured.
      results.rows = resolveRatios(measured)
      results.runSeconds = (performance.now() - began) / 1000
      await mkdir(resultsDir, { recursive: true })
      process.stdout.write(`\n${await writeOutputs(results)}`)
      say('wrote bench/results/latest.json, latest.md, the charts and docs/benchmarks.md')
    }
    if (options.profile) await renderProfiles(profilesDir, say)
    return await finish(0)
  } catch (error) {
    // After Ctrl-C the measurement fails on purpose: no need to say so.
    if (!finishing)
      say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    return await finish(1)
  }
}

if (import.meta.main) {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${usage}\n`)
  } else {
    // A bad option or scenario name: one clear error, nothing started.
    const start = async () => runBench(parseBenchOptions(process.argv.slice(2)))
    const code = await start().catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
      return 2
    })
    // The bench's keep-alive HTTP agent would hold the process open.
    process.exit(code)
  }
}
