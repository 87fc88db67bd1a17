import { appendFileSync } from "node:fs"
import type { SubscriberArgs, SubscriberConfig } from "@medusajs/framework"

// Not a merchant's file: the end-to-end test counts what Medusa emitted (a shipment created
// twice would email the customer twice), so every event it cares about becomes one JSON line
// in the file it names. A backend started by hand, without E2E_EVENTS_FILE, records nothing.
export default async function recordEvent({ event }: SubscriberArgs<Record<string, unknown>>) {
  const file = process.env.E2E_EVENTS_FILE
  if (!file) return
  const line = { name: event.name, data: event.data, at: new Date().toISOString() }
  // One small write with O_APPEND per event: lines from events at the same moment never mix.
  appendFileSync(file, JSON.stringify(line) + "\n")
}

// Medusa 2.21's names (OrderWorkflowEvents, FulfillmentWorkflowEvents in @medusajs/utils).
export const config: SubscriberConfig = {
  event: [
    "order.placed",
    "order.canceled",
    "order.fulfillment_created",
    "shipment.created",
    "delivery.created",
  ],
  context: { subscriberId: "e2e-event-recorder" },
}
