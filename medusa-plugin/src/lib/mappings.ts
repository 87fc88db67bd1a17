import type { Call } from "./http"
import { badInput } from "./http"
import {
  CREATE_PRODUCT_MAPPING,
  DELETE_PRODUCT_MAPPING,
  PRODUCT_MAPPINGS,
  UPDATE_PRODUCT_MAPPING,
} from "./documents"
import { QikinkServiceError } from "./qikink-service"

export type ProductMapping = {
  id: string
  qikinkSkuId: string
  variantId: string
  createdAt: string
  updatedAt: string
}

// The service's limit on one `variantIds` filter.
export const MAX_VARIANTS = 200

/** The variant ids of a query string: `variant_id=a&variant_id=b` or `variant_id=a,b`. */
export function variantIdsOf(value: unknown): string[] {
  const values = Array.isArray(value) ? value : [value]
  const ids = values
    .flatMap((v) => (typeof v === "string" ? v.split(",") : []))
    .map((v) => v.trim())
    .filter(Boolean)
  if (!ids.length) throw badInput("Give the variants as variant_id (one or more).", "variant_id")
  if (ids.length > MAX_VARIANTS) {
    throw badInput(`At most ${MAX_VARIANTS} variants at once.`, "variant_id")
  }
  return [...new Set(ids)]
}

export async function mappingsOf(call: Call, variantIds: string[]): Promise<ProductMapping[]> {
  const data = await call<{ productMappings: { nodes: ProductMapping[] } }>(PRODUCT_MAPPINGS, {
    ids: variantIds,
  })
  return data.productMappings.nodes
}

export async function createMapping(
  call: Call,
  variantId: string,
  qikinkSkuId: string
): Promise<ProductMapping> {
  const data = await call<{ createProductMapping: ProductMapping }>(CREATE_PRODUCT_MAPPING, {
    input: { variantId, qikinkSkuId },
  })
  return data.createProductMapping
}

export async function updateMapping(
  call: Call,
  id: string,
  qikinkSkuId: string
): Promise<ProductMapping> {
  const data = await call<{ updateProductMapping: ProductMapping }>(UPDATE_PRODUCT_MAPPING, {
    id,
    input: { qikinkSkuId },
  })
  return data.updateProductMapping
}

export async function deleteMapping(call: Call, id: string): Promise<void> {
  await call(DELETE_PRODUCT_MAPPING, { id })
}

export type RowOutcome = {
  variant_id: string
  qikink_sku_id: string | null
  outcome: "created" | "updated" | "deleted" | "unchanged" | "refused"
  mapping: ProductMapping | null
  message?: string
  code?: string
}

/**
 * Each row's variant mapped to its SKU (an empty SKU removes the mapping), one after the
 * other; one row refused leaves the others as they are, and every row says what happened.
 */
export async function saveRows(
  call: Call,
  rows: { variant_id: string; qikink_sku_id: string }[]
): Promise<RowOutcome[]> {
  const existing = new Map(
    (await mappingsOf(
      call,
      rows.map((row) => row.variant_id)
    )).map((mapping) => [mapping.variantId, mapping])
  )
  const outcomes: RowOutcome[] = []
  for (const row of rows) {
    const sku = row.qikink_sku_id.trim()
    const before = existing.get(row.variant_id) ?? null
    const base = { variant_id: row.variant_id, qikink_sku_id: sku || null }
    try {
      if (!sku && !before) {
        outcomes.push({ ...base, outcome: "unchanged", mapping: null })
      } else if (!sku && before) {
        await deleteMapping(call, before.id)
        outcomes.push({ ...base, outcome: "deleted", mapping: null })
      } else if (before && before.qikinkSkuId === sku) {
        outcomes.push({ ...base, outcome: "unchanged", mapping: before })
      } else if (before) {
        outcomes.push({ ...base, outcome: "updated", mapping: await updateMapping(call, before.id, sku) })
      } else {
        outcomes.push({ ...base, outcome: "created", mapping: await createMapping(call, row.variant_id, sku) })
      }
    } catch (error) {
      // The service down or the key refused fails the whole request: no row could be saved.
      if (!(error instanceof QikinkServiceError) || error.status === 502) throw error
      outcomes.push({
        ...base,
        outcome: "refused",
        mapping: before,
        message: error.message,
        code: error.code,
      })
    }
  }
  return outcomes
}
