import type { SubscriberArgs, SubscriberConfig } from "@medusajs/framework"
import { ContainerRegistrationKeys } from "@medusajs/framework/utils"
import { CANCEL_MEDUSA_ORDER } from "../lib/documents"
import { callService, qikinkSettings } from "../lib/qikink-service"

/**
 * A canceled order is told to the service: one Qikink does not have yet is never sent; one it
 * has must be canceled on Qikink's dashboard. When the service cannot be reached, its sweep
 * finds the cancellation later, and its worker asks Medusa before every send.
 */
export default async function qikinkOrderCanceled({
  event,
  container,
}: SubscriberArgs<{ id: string }>): Promise<void> {
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const id = event.data.id
  try {
    const data = await callService<{ cancelMedusaOrder: { outcome: string } }>(
      qikinkSettings(container),
      CANCEL_MEDUSA_ORDER,
      { id }
    )
    const result = data.cancelMedusaOrder
    logger.info(`Qikink: canceled order ${id}: ${JSON.stringify(result)}`)
    if (result.outcome === "CANCEL_ON_QIKINK") {
      logger.warn(`Qikink: order ${id} was sent already: cancel it on Qikink's dashboard`)
    }
  } catch (error) {
    logger.error(`Qikink: cancel of order ${id} not recorded: ${(error as Error).message}`)
  }
}

export const config: SubscriberConfig = {
  event: "order.canceled",
  context: { subscriberId: "qikink-order-canceled" },
}
