import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { answer, requiredText } from "../../../../lib/http"
import { createMapping, mappingsOf, variantIdsOf } from "../../../../lib/mappings"

/** GET /admin/qikink/variant-mappings?variant_id=...: the Qikink SKUs of these variants. */
export async function GET(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  await answer(req, res, async (call) => {
    const ids = variantIdsOf(req.query.variant_id)
    return { variant_mappings: await mappingsOf(call, ids) }
  })
}

/** POST /admin/qikink/variant-mappings {variant_id, qikink_sku_id}: map a variant. */
export async function POST(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  await answer(req, res, async (call) => {
    const variantId = requiredText(req.body, "variant_id")
    const sku = requiredText(req.body, "qikink_sku_id")
    return { variant_mapping: await createMapping(call, variantId, sku) }
  })
}
