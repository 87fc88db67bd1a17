import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { callService, QikinkServiceError, qikinkSettings } from "./qikink-service"

export type Call = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>

/**
 * Runs an admin route's work with a caller bound to the service, and answers a refusal or
 * failure of the service with its HTTP status and the service's words. Medusa has already
 * checked the admin's session: every route under /admin needs one.
 */
export async function answer(
  req: MedusaRequest,
  res: MedusaResponse,
  work: (call: Call) => Promise<unknown>
): Promise<void> {
  const settings = qikinkSettings(req.scope)
  const call: Call = (query, variables) => callService(settings, query, variables)
  try {
    const result = await work(call)
    res.json(result)
  } catch (error) {
    if (!(error instanceof QikinkServiceError)) throw error
    if (error.retryAfter !== undefined) res.setHeader("Retry-After", String(error.retryAfter))
    res.status(error.status).json({
      type: "qikink_error",
      code: error.code,
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
      ...(error.retryAfter !== undefined ? { retry_after: error.retryAfter } : {}),
    })
  }
}

/** A refusal of the route's own input, before the service is asked. */
export function badInput(message: string, field?: string): QikinkServiceError {
  return new QikinkServiceError(message, 400, "BAD_USER_INPUT", field)
}

/** A non-empty string field of the JSON body, or a 400 naming it. */
export function requiredText(body: unknown, field: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[field]
  if (typeof value !== "string" || !value.trim()) {
    throw badInput(`Give ${field} as a non-empty string.`, field)
  }
  return value.trim()
}
