import { ContainerRegistrationKeys } from "@medusajs/framework/utils"

/** The npm name merchants list in `medusa-config.ts`. */
export const PLUGIN_NAME = "qikink-graphql-medusa"

/** What a merchant passes as the plugin's `options` in `medusa-config.ts`. */
export type QikinkPluginOptions = {
  /** The service's base URL, e.g. `http://127.0.0.1:8000` (its GraphQL API is `<url>/graphql`). */
  url?: string
  /** An API key of the service (`qikink-graphql create-api-key medusa-backend`). */
  apiKey?: string
  /** How long one call to the service may take, in milliseconds (default 10,000). */
  timeoutMs?: number
}

export type QikinkSettings = { url: string; apiKey: string; timeoutMs: number }

const DEFAULT_TIMEOUT_MS = 10_000

type Resolver = { resolve: (key: string) => unknown }

type PluginEntry = string | { resolve?: string; options?: Record<string, unknown> }

function isThisPlugin(resolve: string | undefined): boolean {
  if (!resolve) return false
  // A merchant may name the package, or a path ending in it.
  return resolve === PLUGIN_NAME || resolve.replace(/\\/g, "/").endsWith(`/${PLUGIN_NAME}`)
}

/** The plugin's options from `medusa-config.ts`, each falling back to the environment. */
export function qikinkSettings(container: Resolver): QikinkSettings {
  let options: QikinkPluginOptions = {}
  try {
    const config = container.resolve(ContainerRegistrationKeys.CONFIG_MODULE) as {
      plugins?: PluginEntry[]
    }
    const entry = (config.plugins ?? []).find(
      (plugin) => typeof plugin !== "string" && isThisPlugin(plugin.resolve)
    )
    if (entry && typeof entry !== "string") {
      options = (entry.options ?? {}) as QikinkPluginOptions
    }
  } catch {
    // No config module in this container: the environment alone configures the plugin.
  }
  const timeout = Number(options.timeoutMs ?? process.env.QIKINK_GRAPHQL_TIMEOUT_MS)
  return {
    url: (options.url || process.env.QIKINK_GRAPHQL_URL || "").replace(/\/+$/, ""),
    apiKey: options.apiKey || process.env.QIKINK_GRAPHQL_API_KEY || "",
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS,
  }
}

/** A refusal or failure of the service, with the HTTP status Medusa answers it with. */
export class QikinkServiceError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly field?: string,
    readonly retryAfter?: number
  ) {
    super(message)
    this.name = "QikinkServiceError"
  }
}

type GraphQLError = {
  message?: string
  extensions?: { code?: string; field?: string; retryAfter?: number | string }
}

// The service's own codes, as the dashboard should see them. Never 401: the dashboard signs
// the admin out on any 401, and a key the service refuses is the store's problem, not theirs.
const STATUS_OF_CODE: Record<string, number> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 503,
  QIKINK_UNAVAILABLE: 503,
}

// How long to wait before trying again when the service gives no figure: Qikink's rate limit
// counts a rolling minute; an unavailable Qikink is worth another try sooner.
const DEFAULT_RETRY_AFTER: Record<string, number> = {
  RATE_LIMITED: 60,
  QIKINK_UNAVAILABLE: 30,
}

const KEY_REFUSED =
  "The Qikink service refused this store's API key: check the plugin's apiKey " +
  "(or QIKINK_GRAPHQL_API_KEY) and that the key has not been revoked."

export function errorFromGraphQL(error: GraphQLError): QikinkServiceError {
  const code = error.extensions?.code ?? "INTERNAL_SERVER_ERROR"
  const message = error.message || "The Qikink service refused the request."
  if (code === "UNAUTHENTICATED" || code === "FORBIDDEN") {
    return new QikinkServiceError(KEY_REFUSED, 502, "QIKINK_SERVICE_KEY_REFUSED")
  }
  return new QikinkServiceError(
    message,
    STATUS_OF_CODE[code] ?? 502,
    code,
    error.extensions?.field,
    seconds(error.extensions?.retryAfter) ?? DEFAULT_RETRY_AFTER[code]
  )
}

function seconds(value: unknown): number | undefined {
  const n = Number(value)
  return value !== null && value !== "" && Number.isFinite(n) && n > 0 ? Math.ceil(n) : undefined
}

function describe(cause: unknown): string {
  const error = cause as { message?: string; cause?: { code?: string; message?: string } }
  return error?.cause?.code ?? error?.cause?.message ?? error?.message ?? String(cause)
}

/** One GraphQL operation against the service, as this store (its API key). */
export async function callService<T>(
  settings: QikinkSettings,
  query: string,
  variables: Record<string, unknown> = {}
): Promise<T> {
  if (!settings.url || !settings.apiKey) {
    throw new QikinkServiceError(
      "The Qikink plugin is not configured: give it `url` and `apiKey` in medusa-config.ts " +
        "(or set QIKINK_GRAPHQL_URL and QIKINK_GRAPHQL_API_KEY).",
      502,
      "QIKINK_SERVICE_NOT_CONFIGURED"
    )
  }
  let response: Response
  try {
    response = await fetch(`${settings.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        authorization: `Bearer ${settings.apiKey}`,
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(settings.timeoutMs),
    })
  } catch (cause) {
    const name = (cause as { name?: string })?.name
    const why =
      name === "TimeoutError"
        ? `did not answer within ${settings.timeoutMs / 1000} s`
        : `could not be reached (${describe(cause)})`
    throw new QikinkServiceError(
      `The Qikink service at ${settings.url} ${why}.`,
      502,
      "QIKINK_SERVICE_UNAVAILABLE"
    )
  }
  let body: { data?: T; errors?: GraphQLError[] }
  try {
    body = (await response.json()) as typeof body
  } catch {
    throw new QikinkServiceError(
      `The Qikink service at ${settings.url} answered HTTP ${response.status} with no GraphQL answer.`,
      502,
      "QIKINK_SERVICE_UNAVAILABLE"
    )
  }
  if (body.errors?.length) {
    const [first] = body.errors
    const retryAfter = first.extensions?.retryAfter ?? response.headers.get("retry-after")
    throw errorFromGraphQL({ ...first, extensions: { ...first.extensions, retryAfter: retryAfter ?? undefined } })
  }
  if (!body.data) {
    throw new QikinkServiceError(
      `The Qikink service at ${settings.url} answered HTTP ${response.status} with no data.`,
      502,
      "QIKINK_SERVICE_UNAVAILABLE"
    )
  }
  return body.data
}
