// docs/deploy.md's deploy path (between <!-- deploy:start --> and <!-- deploy:end -->) is read as
// data: its shell blocks must name only files, Terraform variables and outputs, chart values and
// Kubernetes objects that exist, in an order that works, with a purchase the API accepts.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { PurchaseInput } from '../../handlers/purchase.ts'
import { repoRoot, sharedDir, terraformDir } from './terraform.ts'

const page = readFileSync(path.join(repoRoot, 'docs', 'deploy.md'), 'utf8')
const start = page.indexOf('<!-- deploy:start -->')
const end = page.indexOf('<!-- deploy:end -->')
const region = start >= 0 && end > start ? page.slice(start, end) : ''
const blocks = [...region.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string)
/** Every command line, continuation lines joined. */
const lines = blocks
  .join('\n')
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
const script = lines.join('\n')

const outputsTf = readFileSync(path.join(terraformDir, 'outputs.tf'), 'utf8')
const variablesTf = readFileSync(path.join(terraformDir, 'variables.tf'), 'utf8')
const outputs = new Set([...outputsTf.matchAll(/^output "(\w+)"/gm)].map((m) => m[1]))
const variables = new Set([...variablesTf.matchAll(/^variable "(\w+)"/gm)].map((m) => m[1]))
const chartDir = path.join(repoRoot, 'chart')
const values = parse(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) as Record<
  string,
  unknown
>
const chartName = (
  parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as { name: string }
).name

function lineIndex(pattern: RegExp): number {
  const i = lines.findIndex((l) => pattern.test(l))
  expect(i, `the deploy steps run a command matching ${pattern}`).toBeGreaterThanOrEqual(0)
  return i
}

/** The chart's fullname rule (icecream.fullname in chart/templates/_names.tpl). */
function fullname(release: string): string {
  return (release.includes(chartName) ? release : `${release}-${chartName}`).slice(0, 40)
}

const install = script.match(/helm install (\S+) (\S+) --namespace (\S+)/)
const release = install?.[1] ?? ''
const namespace = install?.[3] ?? ''

describe('the deploy steps of docs/deploy.md', () => {
  it('are between the deploy markers, as shell blocks', () => {
    expect(region, 'docs/deploy.md has <!-- deploy:start --> ... <!-- deploy:end -->').not.toBe('')
    expect(blocks.length).toBeGreaterThanOrEqual(8)
  })

  it('run every step in a workable order, from the token to the tear-down', () => {
    const order = [
      /^export DIGITALOCEAN_TOKEN\b/,
      /^terraform -chdir=terraform init\b/,
      /^terraform -chdir=terraform plan\b/,
      /^terraform -chdir=terraform apply\b/,
      /kubeconfig_save_command/,
      /^doctl registry login\b/,
      /^docker buildx build --platform linux\/amd64 .* --push \.$/,
      /scripts\/chart\/prepare\.sh/,
      /^helm install /,
      /^kubectl -n \S+ wait /,
      /loadBalancer\.ingress/,
      /^curl .*-X POST/,
      /^curl -fsS "\$API_URL\/purchases\//,
      /^helm test /,
      /^helm uninstall /,
      /^terraform -chdir=terraform destroy\b/,
    ].map(lineIndex)
    expect(order).toEqual([...order].sort((a, b) => a - b))
  })

  it('read only Terraform outputs that exist', () => {
    const used = [...script.matchAll(/terraform -chdir=(\S+) output -raw (\w+)/g)]
    expect(used.length).toBeGreaterThanOrEqual(3)
    for (const [, dir, name] of used) {
      expect(dir).toBe('terraform')
      expect(outputs, `terraform/outputs.tf declares output "${name}"`).toContain(name)
    }
  })

  it('name only Terraform variables that exist, in the prose and in the example tfvars', () => {
    const named = [...region.matchAll(/`(\w+) = [^`]+`/g)].map((m) => m[1])
    expect(named.length).toBeGreaterThan(0)
    for (const name of named) expect(variables, `variable "${name}"`).toContain(name)
    const example = readFileSync(path.join(terraformDir, 'terraform.tfvars.example'), 'utf8')
    for (const [, name] of example.matchAll(/^#?\s*(\w+)\s*=/gm)) {
      expect(variables, `terraform.tfvars.example sets variable "${name}"`).toContain(name)
    }
  })

  it('set only chart values that exist in chart/values.yaml, the image among them', () => {
    const sets = [...script.matchAll(/--set(?:-string)? "?([\w.[\]-]+)=/g)].map(
      (m) => m[1] as string,
    )
    expect(sets).toEqual(expect.arrayContaining(['image.repository', 'image.tag']))
    for (const key of sets) {
      let node: unknown = values
      for (const part of key.replace(/\[\d+\]/g, '').split('.')) {
        expect(
          node !== null && typeof node === 'object' && part in node,
          `chart value ${key}`,
        ).toBe(true)
        node = (node as Record<string, unknown>)[part]
      }
    }
    expect(script).toContain(
      'docker buildx build --platform linux/amd64 -t "$IMAGE_REPOSITORY:$IMAGE_TAG"',
    )
    expect(script).toContain('image.repository="$IMAGE_REPOSITORY"')
    expect(script).toContain('image.tag="$IMAGE_TAG"')
  })

  it('name files that exist (or that an earlier step creates)', () => {
    const created = new Set([...script.matchAll(/^cp \S+ (\S+)$/gm)].map((m) => m[1]))
    const paths = [
      ...script.matchAll(/(?<![\w$/.-])((?:terraform|chart|scripts)\/[\w./-]+|\.\/chart\b)/g),
    ]
      .map((m) => m[1] as string)
      .filter((p) => !p.includes('tfstate') && !created.has(p))
    expect(paths).toContain('terraform/terraform.tfvars.example')
    for (const p of paths) expect(existsSync(path.join(repoRoot, p)), p).toBe(true)
    expect(existsSync(path.join(repoRoot, 'Dockerfile'))).toBe(true)
    expect(existsSync(path.join(chartDir, 'Chart.yaml'))).toBe(true)
    // The page's links (files and headings) are checked with every page's in test/unit/docs.test.ts.
  })

  it('use one release and namespace, and the object names the chart gives them', () => {
    expect(install?.[2]).toBe('./chart')
    expect(script).toMatch(new RegExp(`helm test ${release} --namespace ${namespace}\\b`))
    expect(script).toMatch(new RegExp(`helm uninstall ${release} --namespace ${namespace}\\b`))
    for (const [, ns] of script.matchAll(/kubectl -n (\S+)/g)) expect(ns).toBe(namespace)
    const name = fullname(release)
    const template = (file: string) => readFileSync(path.join(chartDir, 'templates', file), 'utf8')
    /** The body of a named template of _names.tpl. */
    const helper = (define: string) =>
      template('_names.tpl').split(`{{- define "${define}" -}}\n`)[1]?.split('\n')[0]
    expect(template('service.yaml')).toContain('name: {{ include "icecream.apiServiceName" . }}')
    expect(helper('icecream.apiServiceName')).toBe(
      '{{- printf "%s-api" (include "icecream.fullname" .) }}',
    )
    for (const [, svc] of script.matchAll(/get service (\S+)/g)) expect(svc).toBe(`${name}-api`)
    expect(template('deployment.yaml')).toContain(
      'name: {{ include "icecream.deploymentName" (dict "root" $root "role" $role) }}',
    )
    expect(helper('icecream.deploymentName')).toBe(
      '{{- printf "%s-%s" (include "icecream.fullname" .root) .role }}',
    )
    for (const [, role] of script.matchAll(/deployment\/(\S+)/g)) {
      expect([`${name}-api`, `${name}-consumer`]).toContain(role)
    }
    const kafka = values.kafka as { clusterName: string }
    const es = values.elasticsearch as { name: string }
    expect(script).toContain(`kafka/${kafka.clusterName || name} `)
    expect(script).toContain(`elasticsearch/${es.name || name} `)
    const port = (values.api as { service: { port: number } }).service.port
    expect(script).toContain(`export API_URL="http://$API_IP:${port}"`)
    const tests = readdirSync(path.join(chartDir, 'templates/tests'))
    expect(
      tests.some((f) => template(`tests/${f}`).includes('include "icecream.testPod"')),
      'the chart has a helm test hook',
    ).toBe(true)
    expect(template('tests/_tests.tpl')).toContain('helm.sh/hook: test')
  })

  it('delete only custom resource kinds the operators define', () => {
    const crds = [
      ...readdirSync(path.join(sharedDir(), 'schemas/strimzi')).map((f) => path.join('strimzi', f)),
      'eck/all-crds.yaml',
    ].flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(sharedDir(), 'schemas', f), 'utf8')).map(
        (d) => (d.toJS() as { spec?: { names?: { plural?: string } } } | null)?.spec?.names?.plural,
      ),
    )
    const deleted = script.match(/kubectl -n \S+ delete (\S+) --all/)?.[1]?.split(',') ?? []
    expect(deleted).toEqual(expect.arrayContaining(['kafkas', 'elasticsearches']))
    for (const kind of deleted) expect(crds, kind).toContain(kind)
  })

  it('post a purchase the API accepts, then read back that shop and day', () => {
    const body = script.match(/-X POST "\$API_URL\/purchases" .*-d '([^']+)'/)?.[1]
    expect(body, 'the POST sends a JSON body').toBeDefined()
    const purchase = PurchaseInput.parse(JSON.parse(body as string))
    const get = script.match(/curl -fsS "\$API_URL\/purchases\/([\w-]+)\?date=([\d-]+)"/)
    expect(get?.[1]).toBe(purchase.shop_id)
    expect(get?.[2]).toBe(purchase.timestamp.slice(0, 10))
  })
})
