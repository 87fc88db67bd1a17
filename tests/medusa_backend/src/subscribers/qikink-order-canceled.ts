import type { SubscriberArgs, SubscriberConfig } from "@medusajs/framework"

const CANCEL = `mutation($id: ID!) {
  cancelMedusaOrder(orderId: $id) { outcome mapping { id status qikinkOrderNumber } } }`

export default async function qikinkOrderCanceled({ event, container }: SubscriberArgs<{ id: string }>) {
  const logger = container.resolve("logger")
  try {
    const res = await fetch(`${process.env.QIKINK_GRAPHQL_URL}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${process.env.QIKINK_GRAPHQL_API_KEY}`,
      },
      body: JSON.stringify({ query: CANCEL, variables: { id: event.data.id } }),
    })
    const body = await res.json()
    if (body.errors) throw new Error(body.errors[0].message)
    const result = body.data.cancelMedusaOrder
    logger.info(`Qikink: canceled order ${event.data.id}: ${JSON.stringify(result)}`)
    if (result.outcome === "CANCEL_ON_QIKINK") {
      logger.warn(`Qikink: order ${event.data.id} was sent already: cancel it on Qikink's dashboard`)
    }
  } catch (e) {
    // The sweep will find the cancellation later, as it finds a missed order.
    logger.error(`Qikink: cancel of order ${event.data.id} not recorded: ${(e as Error).message}`)
  }
}

export const config: SubscriberConfig = { event: "order.canceled" }
