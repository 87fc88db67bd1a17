import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { answer, badInput } from "../../../../../lib/http"
import { refreshOrders } from "../../../../../lib/orders"

/**
 * POST /admin/qikink/order-mappings/refresh {qikink_order_id?}: Qikink's statuses and tracking
 * now, for one Qikink order or every open one; `changes` lists the orders whose status moved.
 */
export async function POST(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  await answer(req, res, async (call) => {
    const id = (req.body as { qikink_order_id?: unknown } | undefined)?.qikink_order_id
    if (id !== undefined && id !== null && (typeof id !== "string" || !id.trim())) {
      throw badInput("qikink_order_id must be a Qikink order id.", "qikink_order_id")
    }
    return refreshOrders(call, typeof id === "string" ? id.trim() : null)
  })
}
