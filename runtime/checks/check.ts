/** What the `helm test` checks share: their failure and how an entry point reports it. */

export class CheckFailure extends Error {}

export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error)

/** Runs a check: "<name>: passed: <what it saw>" on stdout, or "<name>: FAILED: ..." and exit 1. */
export async function report(name: string, check: () => Promise<string>): Promise<void> {
  try {
    process.stdout.write(`${name}: passed: ${await check()}\n`)
  } catch (error) {
    process.stderr.write(`${name}: FAILED: ${errorMessage(error)}\n`)
    process.exitCode = 1
  }
}
