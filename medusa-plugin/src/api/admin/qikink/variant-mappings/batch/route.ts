import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { answer, badInput } from "../../../../../lib/http"
import { MAX_VARIANTS, saveRows } from "../../../../../lib/mappings"

/**
 * POST /admin/qikink/variant-mappings/batch {rows: [{variant_id, qikink_sku_id}]}: map (or,
 * with an empty SKU, unmap) many variants at once; each row's outcome in `rows`.
 */
export async function POST(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  await answer(req, res, async (call) => {
    const rows = (req.body as { rows?: unknown } | undefined)?.rows
    if (!Array.isArray(rows) || !rows.length || rows.length > MAX_VARIANTS) {
      throw badInput(`Give rows: a list of 1 to ${MAX_VARIANTS} variants.`, "rows")
    }
    const checked = rows.map((row, index) => {
      const r = row as { variant_id?: unknown; qikink_sku_id?: unknown }
      if (typeof r?.variant_id !== "string" || !r.variant_id.trim()) {
        throw badInput(`Row ${index + 1} has no variant_id.`, `rows.${index}.variant_id`)
      }
      if (typeof r.qikink_sku_id !== "string") {
        throw badInput(`Row ${index + 1} has no qikink_sku_id.`, `rows.${index}.qikink_sku_id`)
      }
      return { variant_id: r.variant_id.trim(), qikink_sku_id: r.qikink_sku_id }
    })
    if (new Set(checked.map((r) => r.variant_id)).size !== checked.length) {
      throw badInput("A variant appears in two rows.", "rows")
    }
    return { rows: await saveRows(call, checked) }
  })
}
