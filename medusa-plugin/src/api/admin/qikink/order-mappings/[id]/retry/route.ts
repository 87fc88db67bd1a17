import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { answer } from "../../../../../../lib/http"
import { retryOrder } from "../../../../../../lib/orders"

/** POST /admin/qikink/order-mappings/:id/retry: send an order Qikink refused again. */
export async function POST(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  await answer(req, res, async (call) => ({ order_mapping: await retryOrder(call, req.params.id) }))
}
