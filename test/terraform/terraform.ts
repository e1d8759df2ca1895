// Runs Terraform offline against the schema-serving DigitalOcean provider stand-in
// (test/terraform/provider, built by scripts/tools/terraform-provider.sh). Every failure to run
// says plainly why, so a check never passes without having run.
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export const repoRoot = path.resolve(import.meta.dirname, '../..')
export const terraformDir = path.join(repoRoot, 'terraform')
export const providerVersion = '2.99.1'

/** The shared/ folder beside the repository (schemas, recipes); fails clearly when missing. */
export function sharedDir(): string {
  const dir = process.env.ICECREAM_SHARED ?? path.resolve(repoRoot, '../shared')
  if (!existsSync(dir)) {
    throw new Error(
      `the shared/ folder is missing at ${dir}: it holds the DigitalOcean provider schema the ` +
        'Terraform checks validate against (set ICECREAM_SHARED to its path)',
    )
  }
  return dir
}

export function schemaFile(): string {
  const file = path.join(
    sharedDir(),
    'schemas/terraform',
    `digitalocean-${providerVersion}.schema.json`,
  )
  if (!existsSync(file)) throw new Error(`the provider schema is missing: ${file}`)
  return file
}

/** Path of the terraform binary, or an error saying it is not installed. */
export function terraformBinary(): string {
  const found = spawnSync('bash', ['-c', 'command -v terraform'], { encoding: 'utf8' })
  const bin = found.stdout.trim()
  if (found.status !== 0 || bin === '') {
    throw new Error(
      'terraform is not installed, so the Terraform checks cannot run on this machine: install ' +
        'Terraform >= 1.9 (these checks were written against 1.11.4) and put it on PATH',
    )
  }
  return bin
}

/** Builds (or reuses from the cache) the provider stand-in; returns the plugin directory. */
export function providerPluginDir(): string {
  const script = path.join(repoRoot, 'scripts/tools/terraform-provider.sh')
  const run = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (run.status !== 0) {
    throw new Error(
      `could not build the offline DigitalOcean provider stand-in, so Terraform cannot be ` +
        `checked here:\n${run.stderr}`,
    )
  }
  return run.stdout.trim()
}

export interface Run {
  status: number
  stdout: string
  stderr: string
}

/** A copy of terraform/ in a temporary directory, initialised against the plugin directory. */
export class Workspace {
  readonly dir: string
  readonly terraform: string
  private readonly env: NodeJS.ProcessEnv

  constructor(terraform: string, pluginDir: string, extraFiles: Record<string, string> = {}) {
    this.terraform = terraform
    this.dir = mkdtempSync(path.join(tmpdir(), 'icecream-terraform-'))
    cpSync(terraformDir, this.dir, {
      recursive: true,
      filter: (src) => {
        const base = path.basename(src)
        return !(
          base === '.terraform' ||
          base.startsWith('terraform.tfstate') ||
          (base.endsWith('.tfvars') && base !== 'terraform.tfvars.example') ||
          base === 'backend.tf'
        )
      },
    })
    for (const [name, text] of Object.entries(extraFiles)) {
      writeFileSync(path.join(this.dir, name), text)
    }
    this.env = {
      ...process.env,
      TF_CLI_CONFIG_FILE: '/dev/null',
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      NO_COLOR: '1',
      // A fake token: the stand-in never calls the API, and nothing here reads a real one.
      DIGITALOCEAN_TOKEN: 'dop_v1_fake_token_for_offline_tests',
    }
    const lock = path.join(this.dir, '.terraform.lock.hcl')
    const initArgs = [
      'init',
      '-backend=false',
      '-input=false',
      '-no-color',
      `-plugin-dir=${pluginDir}`,
    ]
    if (existsSync(lock)) {
      // The committed lock's hashes are the real provider's; the locally built stand-in cannot
      // match them. Dropping only the hashes keeps the pinned version enforced.
      const text = readFileSync(lock, 'utf8').replace(/\n\s*hashes = \[[^\]]*\]/g, '')
      writeFileSync(lock, text)
      initArgs.push('-lockfile=readonly')
    }
    const init = this.run(initArgs)
    if (init.status !== 0) {
      throw new Error(`terraform init failed:\n${init.stdout}\n${init.stderr}`)
    }
  }

  run(args: string[]): Run {
    const r = spawnSync(this.terraform, args, {
      cwd: this.dir,
      env: this.env,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
    if (r.error) throw r.error
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
  }

  /** `plan -refresh=false` with the given variables, then the plan as JSON (`show -json`). */
  plan(vars: Record<string, unknown> = {}): { run: Run; json?: Plan } {
    const varFile = path.join(this.dir, `vars-${Date.now()}-${Math.random()}.tfvars.json`)
    writeFileSync(varFile, JSON.stringify(vars))
    const out = `${varFile}.plan`
    const run = this.run([
      'plan',
      '-refresh=false',
      '-input=false',
      '-lock=false',
      '-no-color',
      `-var-file=${varFile}`,
      `-out=${out}`,
    ])
    if (run.status !== 0) return { run }
    const show = this.run(['show', '-json', '-no-color', out])
    if (show.status !== 0) throw new Error(`terraform show -json failed:\n${show.stderr}`)
    return { run, json: JSON.parse(show.stdout) as Plan }
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

// The parts of Terraform's JSON plan format the tests read.
export interface PlannedResource {
  address: string
  type: string
  name: string
  values: Record<string, unknown>
  sensitive_values?: Record<string, unknown>
}

export interface Plan {
  format_version: string
  planned_values: {
    outputs?: Record<string, { sensitive: boolean; value?: unknown }>
    root_module: { resources?: PlannedResource[] }
  }
  output_changes?: Record<
    string,
    { after_unknown: boolean; after_sensitive: boolean; after?: unknown }
  >
  resource_changes: {
    address: string
    mode: string
    type: string
    change: {
      actions: string[]
      after: Record<string, unknown>
      after_unknown: Record<string, unknown>
    }
  }[]
  configuration: {
    root_module: {
      outputs?: Record<string, { sensitive?: boolean; expression?: unknown }>
      resources?: { address: string; expressions: Record<string, unknown> }[]
    }
  }
}

export function resource(plan: Plan, address: string): PlannedResource | undefined {
  return plan.planned_values.root_module.resources?.find((r) => r.address === address)
}

export function afterUnknown(plan: Plan, address: string): Record<string, unknown> {
  const change = plan.resource_changes.find((c) => c.address === address)
  if (!change) throw new Error(`${address} is not in the plan`)
  return change.change.after_unknown
}

/** Terraform's version line, for messages. */
export function terraformVersion(bin: string): string {
  return execFileSync(bin, ['version'], {
    encoding: 'utf8',
    env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
  }).split('\n')[0] as string
}
