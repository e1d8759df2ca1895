// The README and the pages under docs/ hold what the tests below keep true: the front page shows
// the two commands, each page it links keeps its facts where the code can check them (every
// variable, every route, the generated blocks' markers), and no relative link is broken.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, expect, test } from 'vitest'
import { benchPage, withBenchBlock } from '../../bench/render.ts'
import { environmentVariables } from '../../runtime/config.ts'
import { memoryApp } from '../support/runtime.ts'

const repoRoot = join(import.meta.dirname, '..', '..')
const docsDir = join(repoRoot, 'docs')
const read = (file: string) => readFileSync(file, 'utf8')
const readme = read(join(repoRoot, 'README.md'))
const pages = readdirSync(docsDir)
  .filter((name) => name.endsWith('.md'))
  .map((name) => join(docsDir, name))
/** Every markdown file a reader follows links through (bench/results/latest.md is generated). */
const markdownFiles = [
  'README.md',
  'chart/README.md',
  'terraform/README.md',
  'bench/README.md',
  'bench/results/latest.md',
].map((file) => join(repoRoot, file))

/** The text outside code blocks, where headings are markdown. */
const outsideCode = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '')
/** Links, outside code blocks and code spans. */
const links = (text: string) =>
  [
    ...outsideCode(text)
      .replace(/`[^`\n]*`/g, '')
      .matchAll(/\]\(([^)\s]+)\)/g),
  ].map((m) => m[1] as string)

/** Heading anchors as GitHub makes them: lower case, punctuation dropped, spaces to hyphens. */
function anchors(text: string): string[] {
  const seen = new Map<string, number>()
  return [...outsideCode(text).matchAll(/^#{1,6} (.+)$/gm)].map((m) => {
    const slug = (m[1] as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    return count === 0 ? slug : `${slug}-${count}`
  })
}

describe('the README', () => {
  test('shows the two commands, the test command as CI runs it', () => {
    expect(readme).toContain('\nnpm start ')
    expect(readme).toContain('\nnpm test ')
    expect(read(join(repoRoot, '.ci/run'))).toMatch(/^npm test$/m)
  })

  test('links every page under docs/', () => {
    const linked = pages.filter((page) => readme.includes(`](${relative(repoRoot, page)})`))
    expect(linked).toEqual(pages)
  })
})

test('docs/configuration.md documents every configuration variable', () => {
  const page = read(join(docsDir, 'configuration.md'))
  const missing = environmentVariables.filter((name) => !page.includes(`\`${name}\``))
  expect(missing).toEqual([])
})

test('docs/api.md lists every route of the OpenAPI document', async () => {
  const page = read(join(docsDir, 'api.md'))
  const { app } = await memoryApp()
  const spec = (await (await app.request('/openapi.json')).json()) as {
    paths: Record<string, Record<string, unknown>>
  }
  const routes = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  )
  const missing = routes.filter((route) => !page.includes(`\`${route}`))
  expect(missing).toEqual([])
})

describe('the generated blocks', () => {
  test.each([
    ['deploy.md', 'deploy'],
    ['faults.md', 'faults'],
    ['benchmarks.md', 'bench'],
  ])('docs/%s has one pair of %s markers', (name, marker) => {
    const page = read(join(docsDir, name))
    expect(page.split(`<!-- ${marker}:start -->`)).toHaveLength(2)
    expect(page.split(`<!-- ${marker}:end -->`)).toHaveLength(2)
    expect(page.indexOf(`<!-- ${marker}:start -->`)).toBeLessThan(
      page.indexOf(`<!-- ${marker}:end -->`),
    )
  })

  test('the bench writes its report into docs/benchmarks.md, chart links made relative to docs/', () => {
    expect(relative(repoRoot, benchPage)).toBe('docs/benchmarks.md')
    const page = 'before\n<!-- bench:start -->\nold\n<!-- bench:end -->\nafter\n'
    const report = '# Bench\n\n| row |\n\n![lag](lag.svg)\n'
    expect(withBenchBlock(page, report)).toBe(
      'before\n<!-- bench:start -->\n| row |\n\n![lag](../bench/results/lag.svg)\n<!-- bench:end -->\nafter\n',
    )
    expect(() => withBenchBlock('no markers', report)).toThrow('no bench markers')
  })
})

test.each([...markdownFiles, ...pages].map((file) => [relative(repoRoot, file), file]))(
  'every relative link of %s resolves to a file and heading that exist',
  (_, file) => {
    const relativeLinks = links(read(file)).filter((target) => !/^[a-z]+:/.test(target))
    const broken = relativeLinks.filter((target) => {
      const [path = '', anchor] = target.split('#')
      const linked = path === '' ? file : join(dirname(file), path)
      if (!existsSync(linked)) return true
      return (
        anchor !== undefined && linked.endsWith('.md') && !anchors(read(linked)).includes(anchor)
      )
    })
    expect(broken).toEqual([])
  },
)
