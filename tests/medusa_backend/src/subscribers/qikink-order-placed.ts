import type { SubscriberArgs, SubscriberConfig } from "@medusajs/framework"

const SUBMIT = `mutation($id: ID!) {
  submitMedusaOrder(orderId: $id) { skipped reason mapping { id status qikinkOrderNumber } } }`

export default async function qikinkOrderPlaced({ event, container }: SubscriberArgs<{ id: string }>) {
  const logger = container.resolve("logger")
  try {
    const res = await fetch(`${process.env.QIKINK_GRAPHQL_URL}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${process.env.QIKINK_GRAPHQL_API_KEY}`,
      },
      body: JSON.stringify({ query: SUBMIT, variables: { id: event.data.id } }),
    })
    const body = await res.json()
    if (body.errors) throw new Error(body.errors[0].message)
    logger.info(`Qikink: order ${event.data.id}: ${JSON.stringify(body.data.submitMedusaOrder)}`)
  } catch (e) {
    // The sweep will find this order later; nothing is lost.
    logger.warn(`Qikink: order ${event.data.id} not recorded yet: ${(e as Error).message}`)
  }
}

export const config: SubscriberConfig = { event: "order.placed" }
