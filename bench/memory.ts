/** The resident memory of an app process, read from /proc while a measurement runs. */
import { readFile } from 'node:fs/promises'

/** VmRSS and VmHWM (the peak so far) of `pid`, in MiB; undefined once it is gone. */
async function residentMiB(pid: number): Promise<{ rss: number; peak: number } | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined)
  if (!status) return undefined
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 }
}

/**
 * Samples a process's RSS every `everyMs` until `stop()`, which answers its peak: the kernel's
 * high-water mark (VmHWM) when it can still be read, else the highest sample.
 */
export function watchMemory(pid: number, everyMs = 500) {
  let highest = 0
  const sample = async () => {
    const memory = await residentMiB(pid)
    if (memory) highest = Math.max(highest, memory.rss, memory.peak)
  }
  const timer = setInterval(() => void sample(), everyMs)
  return {
    async stop(): Promise<number> {
      clearInterval(timer)
      await sample()
      return highest
    },
  }
}
