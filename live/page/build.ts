/**
 * Builds the live page's assets into dist/live-page: page.ts and its CSS bundled and minified
 * by esbuild under content-hashed names (served as immutable), and index.html naming them.
 * Run by `npm run build` (the image's build stage too) and by `npm start` when they are missing.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { build } from 'esbuild'

const here = import.meta.dirname
const out = join(here, '..', '..', 'dist', 'live-page')
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const result = await build({
  entryPoints: [join(here, 'page.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outdir: out,
  entryNames: 'page-[hash]',
  metafile: true,
  logLevel: 'warning',
})
const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file))
const asset = (extension: string) => {
  const name = outputs.find((file) => file.endsWith(extension))
  if (!name) throw new Error(`esbuild wrote no ${extension} file`)
  return name
}
writeFileSync(
  join(out, 'index.html'),
  readFileSync(join(here, 'index.html'), 'utf8')
    .replace('{{js}}', asset('.js'))
    .replace('{{css}}', asset('.css')),
)
process.stderr.write(`live page built: ${out} (${outputs.join(', ')})\n`)
