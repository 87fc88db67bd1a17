import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { ContainerRegistrationKeys } from "@medusajs/framework/utils"
import { answer, badInput } from "../../../../../lib/http"
import { mappingsOf } from "../../../../../lib/mappings"
import { mappingOfOrder } from "../../../../../lib/orders"
import { QikinkServiceError } from "../../../../../lib/qikink-service"

type OrderItem = {
  id: string
  title: string | null
  variant_id: string | null
  variant_title: string | null
  quantity?: number | null
  detail?: { quantity?: number | null } | null
}

/**
 * GET /admin/qikink/orders/:id: what Qikink does for one Medusa order: its order mapping (or
 * null when none was made) and each of the order's items, whether Qikink prints it.
 */
export async function GET(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  await answer(req, res, async (call) => {
    const query = req.scope.resolve(ContainerRegistrationKeys.QUERY)
    const { data } = await query.graph({
      entity: "order",
      // An order's line items keep their quantity in the item's detail (order versions).
      fields: ["id", "display_id", "items.*", "items.detail.*"],
      filters: { id: req.params.id },
    })
    const order = data[0] as { id: string; display_id: number; items?: OrderItem[] } | undefined
    if (!order) throw new QikinkServiceError(`No order ${req.params.id} in Medusa.`, 404, "NOT_FOUND")
    const items = (order.items ?? []).filter(Boolean)
    const mapping = await mappingOfOrder(call, order.id)
    let printed: Set<string>
    if (mapping) {
      printed = new Set(mapping.printedItems.map((item) => item.variantId))
    } else {
      // No Qikink order was made: say which items are mapped now (none, usually).
      const variantIds = [...new Set(items.map((i) => i.variant_id).filter((v): v is string => !!v))]
      if (variantIds.length > 200) throw badInput("The order has over 200 variants.", "id")
      printed = new Set(
        variantIds.length ? (await mappingsOf(call, variantIds)).map((m) => m.variantId) : []
      )
    }
    return {
      order_id: order.id,
      display_id: order.display_id,
      order_mapping: mapping,
      items: items.map((item) => ({
        id: item.id,
        title: item.title,
        variant_id: item.variant_id,
        variant_title: item.variant_title,
        quantity: Number(item.detail?.quantity ?? item.quantity ?? 0),
        printed_by_qikink: !!item.variant_id && printed.has(item.variant_id),
      })),
    }
  })
}
