// A small reader of the Dockerfile and .dockerignore, enough for the image tests' assertions.
import { readFileSync } from 'node:fs'
import path from 'node:path'

export const repoRoot = path.resolve(import.meta.dirname, '../..')

export interface Instruction {
  keyword: string
  args: string
  line: number
}

export interface Stage {
  from: string
  name: string | undefined
  instructions: Instruction[]
}

/** Instructions with continuation lines joined and comments dropped, grouped by stage. */
export function readDockerfile(file = path.join(repoRoot, 'Dockerfile')): {
  args: Map<string, string>
  stages: Stage[]
} {
  const lines = readFileSync(file, 'utf8').split('\n')
  const args = new Map<string, string>()
  const stages: Stage[] = []
  let current = ''
  let start = 0
  lines.forEach((raw, i) => {
    if (current === '' && /^\s*#/.test(raw)) return
    if (current === '') start = i + 1
    if (/^\s*#/.test(raw)) return // a comment inside a continued instruction
    current += raw.replace(/\\\s*$/, ' ')
    if (/\\\s*$/.test(raw)) return
    const text = current.trim()
    current = ''
    if (text === '') return
    const [, keyword = '', rest = ''] = text.match(/^(\S+)\s*(.*)$/) ?? []
    const instruction = {
      keyword: keyword.toUpperCase(),
      args: rest.replace(/\s+/g, ' '),
      line: start,
    }
    if (instruction.keyword === 'FROM') {
      const [, image = '', name] = rest.match(/^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i) ?? []
      stages.push({ from: image, name, instructions: [] })
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [, key = '', value = ''] = rest.match(/^([A-Za-z_]\w*)(?:=(.*))?$/) ?? []
      args.set(key, value)
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  })
  return { args, stages }
}

/** Whether Docker leaves `file` (a path relative to the context) out of the build context. */
export function dockerIgnores(patterns: string[], file: string): boolean {
  const parts = file.split('/')
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
  let ignored = false
  for (const raw of patterns) {
    const negated = raw.startsWith('!')
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '')
    const re = new RegExp(
      `^${pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((t) =>
          t === '**/'
            ? '(?:.*/)?'
            : t === '**'
              ? '.*'
              : t === '*'
                ? '[^/]*'
                : t === '?'
                  ? '[^/]'
                  : t.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    )
    if (candidates.some((c) => re.test(c))) ignored = !negated
  }
  return ignored
}

export function readDockerignore(): string[] {
  return readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
}
