import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { answer, requiredText } from "../../../../../lib/http"
import { deleteMapping, updateMapping } from "../../../../../lib/mappings"

/** POST /admin/qikink/variant-mappings/:id {qikink_sku_id}: another SKU for the variant. */
export async function POST(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  await answer(req, res, async (call) => {
    const sku = requiredText(req.body, "qikink_sku_id")
    return { variant_mapping: await updateMapping(call, req.params.id, sku) }
  })
}

/** DELETE /admin/qikink/variant-mappings/:id: the variant no longer printed by Qikink. */
export async function DELETE(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  await answer(req, res, async (call) => {
    await deleteMapping(call, req.params.id)
    return { id: req.params.id, object: "qikink_variant_mapping", deleted: true }
  })
}
