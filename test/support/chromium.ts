/**
 * Debian's Chromium for the browser test, installed on first use (the test command runs as
 * root; apt prints its own progress), and the flags it runs headless with here.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

export const chromiumPath = '/usr/bin/chromium'

export function ensureChromium(): void {
  if (existsSync(chromiumPath)) return
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    process.stderr.write(`==> apt-get ${args.join(' ')} (for the live page's browser test)\n`)
    const run = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'] })
    if (run.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (${run.status})`)
  }
}

export function launchChromium(): Promise<Browser> {
  ensureChromium()
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // No sandbox as root; nothing that calls home (the page loads nothing from outside).
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}
