import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { answer } from "../../../../lib/http"
import { listOrderMappings, type ListQuery } from "../../../../lib/orders"

/**
 * GET /admin/qikink/order-mappings?limit=&offset=&status=&q=: one page of the orders sent to
 * Qikink, newest first; `q` is a Medusa order id or display id (`#12` or `12`).
 */
export async function GET(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  await answer(req, res, (call) => listOrderMappings(call, req.query as ListQuery))
}
