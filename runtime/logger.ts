import { pino } from 'pino'

/** Structured JSON logs on stdout, one object per line. */
export function createLogger(level: string, role: string) {
  return pino({ level, base: { role }, timestamp: pino.stdTimeFunctions.isoTime })
}

export type AppLogger = ReturnType<typeof createLogger>
