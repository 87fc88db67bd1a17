import type { Call } from "./http"
import { badInput } from "./http"
import { ORDER_MAPPINGS, REFRESH_ORDERS, RETRY_ORDER } from "./documents"

export type OrderMapping = {
  id: string
  medusaOrderId: string
  medusaDisplayId: string | null
  qikinkOrderId: string | null
  qikinkOrderNumber: string | null
  status: string
  qikinkStatus: string | null
  trackingNumber: string | null
  courier: string | null
  trackingUrl: string | null
  createdAt: string
  updatedAt: string
  lastSyncedAt: string | null
  cancelRequested: boolean
  lastError: string | null
  attempts: number | null
  medusaSyncedState: string
  medusaSyncError: string | null
  printedItems: { variantId: string; quantity: number }[]
}

export const STATUSES = [
  "PENDING",
  "SUBMITTED",
  "IN_PRODUCTION",
  "SHIPPED",
  "COMPLETED",
  "CANCELED",
  "RETURNED",
  "FAILED",
]

function whole(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw badInput(`${name} must be a whole number from ${min} to ${max}.`, name)
  }
  return n
}

export type ListQuery = { limit?: unknown; offset?: unknown; status?: unknown; q?: unknown }

export async function listOrderMappings(call: Call, query: ListQuery) {
  const limit = whole(query.limit, "limit", 20, 1, 200)
  const offset = whole(query.offset, "offset", 0, 0, Number.MAX_SAFE_INTEGER)
  const filter: Record<string, string> = {}
  if (typeof query.status === "string" && query.status) {
    if (!STATUSES.includes(query.status)) {
      throw badInput(`status must be one of ${STATUSES.join(", ")}.`, "status")
    }
    filter.status = query.status
  }
  if (typeof query.q === "string" && query.q.trim()) filter.search = query.q.trim()
  const data = await call<{
    qikinkOrderMappings: { count: number; limit: number; offset: number; nodes: OrderMapping[] }
  }>(ORDER_MAPPINGS, { filter, limit, offset })
  const page = data.qikinkOrderMappings
  return { order_mappings: page.nodes, count: page.count, limit: page.limit, offset: page.offset }
}

export async function mappingOfOrder(call: Call, orderId: string): Promise<OrderMapping | null> {
  const data = await call<{ qikinkOrderMappings: { nodes: OrderMapping[] } }>(ORDER_MAPPINGS, {
    filter: { medusaOrderId: orderId },
    limit: 1,
    offset: 0,
  })
  return data.qikinkOrderMappings.nodes[0] ?? null
}

export async function retryOrder(call: Call, id: string): Promise<OrderMapping> {
  const data = await call<{ retryOrderSubmission: OrderMapping }>(RETRY_ORDER, { id })
  return data.retryOrderSubmission
}

export async function refreshOrders(call: Call, qikinkOrderId: string | null) {
  const data = await call<{
    refreshOrderMappings: {
      updated: number
      processed: number
      changes: { previousStatus: string; mapping: OrderMapping }[]
    }
  }>(REFRESH_ORDERS, { orderId: qikinkOrderId })
  const result = data.refreshOrderMappings
  return {
    updated: result.updated,
    processed: result.processed,
    changes: result.changes.map((change) => ({
      previous_status: change.previousStatus,
      order_mapping: change.mapping,
    })),
  }
}
