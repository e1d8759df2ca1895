// Formatting, `terraform validate` against the real provider's schema (through the offline
// stand-in), and proof that the stand-in is strict and never applies anything.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerPluginDir,
  providerVersion,
  terraformBinary,
  terraformDir,
  terraformVersion,
  Workspace,
} from './terraform.ts'

let terraform: string
let pluginDir: string
const workspaces: Workspace[] = []
beforeAll(() => {
  terraform = terraformBinary()
  pluginDir = providerPluginDir()
  console.info(`${terraformVersion(terraform)}; provider stand-in in ${pluginDir}`)
})
afterAll(() => {
  for (const ws of workspaces) ws.dispose()
})

function workspace(extraFiles: Record<string, string> = {}): Workspace {
  const ws = new Workspace(terraform, pluginDir, extraFiles)
  workspaces.push(ws)
  return ws
}

function flat(text: string): string {
  return text.replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ')
}

describe('terraform/', () => {
  it('is formatted (terraform fmt -check)', () => {
    const run = spawnSync(terraform, ['fmt', '-check', '-recursive', '-diff', '-no-color'], {
      cwd: terraformDir,
      encoding: 'utf8',
      env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
    })
    expect(run.stdout + run.stderr, 'run `terraform fmt -recursive terraform/`').toBe('')
    expect(run.status).toBe(0)
  })

  it('is valid against the real provider schema, without warnings', () => {
    const run = workspace().run(['validate', '-json', '-no-color'])
    const result = JSON.parse(run.stdout) as {
      valid: boolean
      warning_count: number
      diagnostics: { summary: string; detail: string }[]
    }
    expect(result.diagnostics).toEqual([])
    expect(result.valid).toBe(true)
    expect(run.status).toBe(0)
  })

  it('pins Terraform and the provider version whose schema the checks use', () => {
    const versions = readFileSync(path.join(terraformDir, 'versions.tf'), 'utf8')
    expect(versions).toMatch(/required_version\s*=\s*">= 1\.9\.0, < 2\.0\.0"/)
    expect(versions).toMatch(/source\s*=\s*"digitalocean\/digitalocean"/)
    expect(versions).toContain(`version = "${providerVersion}"`)
  })

  it('never holds a token: the provider block is empty and no file sets one', () => {
    const versions = readFileSync(path.join(terraformDir, 'versions.tf'), 'utf8')
    expect(versions).toMatch(/provider "digitalocean" \{\}/)
    for (const file of readdirSync(terraformDir)) {
      if (!/\.(tf|example|hcl)$/.test(file)) continue
      const text = readFileSync(path.join(terraformDir, file), 'utf8')
      expect(text, file).not.toMatch(/^\s*token\s*=/m)
      expect(text, file).not.toMatch(/dop_v1_[0-9a-f]{16,}/)
    }
  })
})

describe('the offline provider stand-in', () => {
  it('rejects what the real provider rejects: unknown arguments, wrong types, missing arguments', () => {
    const ws = workspace({
      'broken.tf': `
resource "digitalocean_vpc" "typo" {
  name     = "x"
  region   = "fra1"
  ip_rnage = "10.0.0.0/24"
}
resource "digitalocean_kubernetes_cluster" "incomplete" {
  name         = "x"
  region       = "fra1"
  auto_upgrade = "sometimes"
  node_pool {
    name = "pool"
    size = "s-4vcpu-8gb"
  }
}
resource "digitalocean_kubernetes_clustr" "unknown" {}
`,
    })
    const run = ws.run(['validate', '-no-color'])
    expect(run.status).not.toBe(0)
    const out = flat(run.stderr)
    expect(out).toContain('An argument named "ip_rnage" is not expected here')
    expect(out).toContain('The argument "version" is required')
    expect(out).toContain('Incorrect attribute value type')
    expect(out).toContain('Invalid resource type')
  })

  it('refuses to apply: it never calls the DigitalOcean API', () => {
    const ws = workspace()
    const run = ws.run(['apply', '-auto-approve', '-refresh=false', '-lock=false', '-no-color'])
    expect(run.status).not.toBe(0)
    expect(flat(run.stderr)).toContain('never calls the DigitalOcean API')
  })
})
