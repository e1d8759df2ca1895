// The stand-in serves exactly the real provider's schema: `terraform providers schema -json`
// through it equals the file it was built from (a conversion slip, such as dropping an attribute
// that is itself named `description`, would otherwise go unnoticed).
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { providerPluginDir, schemaFile, terraformBinary, Workspace } from './terraform.ts'

let ws: Workspace
beforeAll(() => {
  ws = new Workspace(terraformBinary(), providerPluginDir())
})
afterAll(() => ws?.dispose())

it('serves the real DigitalOcean provider schema unchanged', () => {
  const run = ws.run(['providers', 'schema', '-json'])
  expect(run.status, run.stderr).toBe(0)
  const served = JSON.parse(run.stdout)
  const expected = JSON.parse(readFileSync(schemaFile(), 'utf8'))
  const address = 'registry.terraform.io/digitalocean/digitalocean'
  expect(Object.keys(served.provider_schemas[address].resource_schemas)).toHaveLength(
    Object.keys(expected.provider_schemas[address].resource_schemas).length,
  )
  expect(served).toEqual(expected)
})
