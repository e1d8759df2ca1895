/** RFC 9457 problem details: every error the API returns has this shape. */
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { z } from 'zod'

export interface FieldError {
  /** Where the value came from: body, query or path. */
  in: string
  /** Dotted path of the field, e.g. `scoops.0.quantity`. */
  path: string
  message: string
}

export function problem(
  c: Context,
  status: ContentfulStatusCode,
  title: string,
  extra: { detail?: string; errors?: FieldError[]; headers?: Record<string, string> } = {},
): Response {
  const { headers, ...details } = extra
  return c.json({ type: 'about:blank', title, status, ...details }, status, {
    'content-type': 'application/problem+json',
    ...headers,
  })
}

/** The problem+json shape, for the OpenAPI document. */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    errors: z
      .array(z.object({ in: z.string(), path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'Every failing field (422).' }),
  })
  .meta({ id: 'Problem' })
