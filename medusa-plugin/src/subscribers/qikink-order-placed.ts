import type { SubscriberArgs, SubscriberConfig } from "@medusajs/framework"
import { ContainerRegistrationKeys } from "@medusajs/framework/utils"
import { SUBMIT_MEDUSA_ORDER } from "../lib/documents"
import { callService, qikinkSettings } from "../lib/qikink-service"

/**
 * A placed order goes to the service, which loads it from Medusa and sends its printed items
 * to Qikink. Nothing retries a subscriber: when the service cannot be reached, its sweep of
 * Medusa's orders finds this one later.
 */
export default async function qikinkOrderPlaced({
  event,
  container,
}: SubscriberArgs<{ id: string }>): Promise<void> {
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const id = event.data.id
  try {
    const data = await callService<{ submitMedusaOrder: unknown }>(
      qikinkSettings(container),
      SUBMIT_MEDUSA_ORDER,
      { id }
    )
    logger.info(`Qikink: order ${id}: ${JSON.stringify(data.submitMedusaOrder)}`)
  } catch (error) {
    logger.warn(`Qikink: order ${id} not recorded yet: ${(error as Error).message}`)
  }
}

export const config: SubscriberConfig = {
  event: "order.placed",
  context: { subscriberId: "qikink-order-placed" },
}
