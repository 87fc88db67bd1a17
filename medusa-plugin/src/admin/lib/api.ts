// The dashboard's calls to this plugin's admin routes: same origin, the admin's session cookie.
// The service's API key stays on the Medusa server; nothing here knows it.

// What the routes answer, as the server side types it (types only: no server code is bundled).
export type { ProductMapping, RowOutcome } from "../../lib/mappings"
export type { OrderMapping } from "../../lib/orders"
import type { OrderMapping } from "../../lib/orders"

export type OrderCard = {
  order_id: string
  display_id: number
  order_mapping: OrderMapping | null
  items: {
    id: string
    title: string | null
    variant_id: string | null
    variant_title: string | null
    quantity: number
    printed_by_qikink: boolean
  }[]
}

export type RefreshResult = {
  updated: number
  processed: number
  changes: { previous_status: string; order_mapping: OrderMapping }[]
}

/** A refusal or failure, in the words the route gave (the service's, or why it is unreachable). */
export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly code?: string) {
    super(message)
  }
}

type Init = { method?: string; body?: unknown }

/** One of this plugin's routes, `/admin/qikink<path>`. */
export function api<T>(path: string, init: Init = {}): Promise<T> {
  return request<T>(`/admin/qikink${path}`, init)
}

/** Medusa's own Admin API, e.g. `/admin/products/<id>/variants`. */
export function medusaApi<T>(path: string): Promise<T> {
  return request<T>(path, {})
}

async function request<T>(url: string, init: Init): Promise<T> {
  let response: Response
  try {
    response = await fetch(url, {
      method: init.method ?? "GET",
      credentials: "include",
      headers: init.body === undefined ? {} : { "content-type": "application/json" },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    })
  } catch {
    throw new ApiError("Medusa did not answer. Check your connection and try again.", 0)
  }
  let body: { message?: string; code?: string } & Record<string, unknown> = {}
  try {
    body = await response.json()
  } catch {
    // An answer with no JSON body: its status says enough below.
  }
  if (!response.ok) {
    throw new ApiError(body.message || `Medusa answered HTTP ${response.status}.`, response.status, body.code)
  }
  return body as T
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Our statuses in words, and the badge colour the dashboard uses for such a state. */
export const STATUS_WORDS: Record<string, { label: string; color: "green" | "red" | "blue" | "orange" | "grey" | "purple" }> = {
  PENDING: { label: "Waiting to be sent", color: "grey" },
  SUBMITTED: { label: "Submitted", color: "blue" },
  IN_PRODUCTION: { label: "In production", color: "purple" },
  SHIPPED: { label: "Shipped", color: "orange" },
  COMPLETED: { label: "Delivered", color: "green" },
  CANCELED: { label: "Canceled", color: "grey" },
  RETURNED: { label: "Returned", color: "grey" },
  FAILED: { label: "Failed", color: "red" },
}

export function statusWords(status: string) {
  return STATUS_WORDS[status] ?? { label: status, color: "grey" as const }
}

export function formatDate(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}
