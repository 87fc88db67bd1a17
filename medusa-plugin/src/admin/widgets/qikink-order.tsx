import { defineWidgetConfig } from "@medusajs/admin-sdk"
import type { AdminOrder, DetailWidgetProps } from "@medusajs/framework/types"
import { Button, Container, Heading, StatusBadge, Text, toast } from "@medusajs/ui"
import { useCallback, useEffect, useState } from "react"
import { api, messageOf, statusWords, type OrderCard, type OrderMapping, type RefreshResult } from "../lib/api"

type Loaded = { state: "loading" } | { state: "error"; message: string } | { state: "ready"; card: OrderCard }

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="text-ui-fg-subtle grid grid-cols-2 items-start px-6 py-3">
      <Text size="small" weight="plus" leading="compact">
        {label}
      </Text>
      <div className="txt-small break-words">{children}</div>
    </div>
  )
}

function printedSummary(card: OrderCard): string {
  const total = card.items.length
  const printed = card.items.filter((item) => item.printed_by_qikink).length
  const others = total - printed
  const noun = total === 1 ? "item" : "items"
  return `${printed} of ${total} ${noun} printed by Qikink${others ? `; ${others} not mapped` : ""}`
}

const QikinkOrderWidget = ({ data: order }: DetailWidgetProps<AdminOrder>) => {
  const [loaded, setLoaded] = useState<Loaded>({ state: "loading" })
  const [busy, setBusy] = useState<"retry" | "refresh" | null>(null)
  const [actionError, setActionError] = useState<string | null>(null)

  const load = useCallback(async (isCurrent: () => boolean = () => true) => {
    try {
      const card = await api<OrderCard>(`/orders/${encodeURIComponent(order.id)}`)
      if (isCurrent()) setLoaded({ state: "ready", card })
    } catch (error) {
      if (isCurrent()) setLoaded({ state: "error", message: messageOf(error) })
    }
  }, [order.id])

  useEffect(() => {
    let current = true
    void load(() => current)
    return () => {
      current = false
    }
  }, [load])

  const mapping: OrderMapping | null = loaded.state === "ready" ? loaded.card.order_mapping : null

  const retry = async () => {
    if (!mapping) return
    setBusy("retry")
    setActionError(null)
    try {
      await api(`/order-mappings/${mapping.id}/retry`, { method: "POST" })
      toast.success("The order is queued to be sent to Qikink again.")
      await load()
    } catch (error) {
      setActionError(messageOf(error))
    } finally {
      setBusy(null)
    }
  }

  const refresh = async () => {
    setBusy("refresh")
    setActionError(null)
    try {
      if (mapping?.qikinkOrderId) {
        const result = await api<RefreshResult>("/order-mappings/refresh", {
          method: "POST",
          body: { qikink_order_id: mapping.qikinkOrderId },
        })
        const change = result.changes[0]
        toast.info(
          change
            ? `Qikink status: ${statusWords(change.order_mapping.status).label} (was ${statusWords(change.previous_status).label}).`
            : "Qikink has nothing new for this order."
        )
      }
      await load()
    } catch (error) {
      setActionError(messageOf(error))
    } finally {
      setBusy(null)
    }
  }

  const card = loaded.state === "ready" ? loaded.card : null
  const anyPrinted = card ? card.items.some((item) => item.printed_by_qikink) : false

  return (
    <Container className="divide-y p-0">
      <div className="flex items-center justify-between px-6 py-4">
        <Heading level="h2">Qikink</Heading>
        <div className="flex gap-x-2">
          {mapping?.status === "FAILED" && (
            <Button size="small" variant="primary" onClick={() => void retry()} isLoading={busy === "retry"} disabled={busy !== null}>
              Retry
            </Button>
          )}
          <Button size="small" variant="secondary" onClick={() => void refresh()} isLoading={busy === "refresh"} disabled={busy !== null || loaded.state === "loading"}>
            Refresh
          </Button>
        </div>
      </div>
      {loaded.state === "loading" && (
        <Text size="small" className="px-6 py-4">
          Loading…
        </Text>
      )}
      {loaded.state === "error" && (
        <Text size="small" role="alert" className="text-ui-fg-error px-6 py-4">
          {loaded.message}
        </Text>
      )}
      {card && !mapping && (
        <Text size="small" className="text-ui-fg-subtle px-6 py-4">
          {anyPrinted
            ? "Not sent to Qikink: its items were mapped after the order was placed."
            : "No item of this order is mapped to a Qikink SKU: Qikink prints nothing of it."}
        </Text>
      )}
      {card && mapping && (
        <>
          <Row label="Status">
            <StatusBadge color={statusWords(mapping.status).color}>{statusWords(mapping.status).label}</StatusBadge>
            {mapping.qikinkStatus && <div className="mt-1">Qikink: {mapping.qikinkStatus}</div>}
            {mapping.cancelRequested && mapping.status !== "CANCELED" && (
              <div className="mt-1">Canceled in your store: cancel it on Qikink's dashboard.</div>
            )}
          </Row>
          {mapping.status === "FAILED" && mapping.lastError && (
            <Row label="Qikink's answer">
              <span role="alert" className="text-ui-fg-error">
                {mapping.lastError}
              </span>
            </Row>
          )}
          <Row label="Qikink order number">{mapping.qikinkOrderNumber ?? "-"}</Row>
          <Row label="Qikink order id">{mapping.qikinkOrderId ?? "Not accepted by Qikink yet"}</Row>
          <Row label="Courier">{mapping.courier ?? "-"}</Row>
          <Row label="Tracking">
            {mapping.trackingUrl ? (
              <a href={mapping.trackingUrl} target="_blank" rel="noreferrer" className="text-ui-fg-interactive hover:underline">
                {mapping.trackingNumber ?? "Track the parcel"}
              </a>
            ) : (
              mapping.trackingNumber ?? "-"
            )}
          </Row>
          {mapping.medusaSyncError && (
            <Row label="Medusa refused">
              <span className="text-ui-fg-error">{mapping.medusaSyncError}</span>
            </Row>
          )}
        </>
      )}
      {card && card.items.length > 0 && (
        <div className="px-6 py-3">
          <Text size="small" weight="plus" data-testid="qikink-printed-summary">
            {printedSummary(card)}
          </Text>
          <ul className="txt-small text-ui-fg-subtle mt-1">
            {card.items.map((item) => (
              <li key={item.id}>
                {item.quantity} × {item.title ?? item.variant_id}
                {item.variant_title ? ` (${item.variant_title})` : ""}: {item.printed_by_qikink ? "Qikink" : "not mapped"}
              </li>
            ))}
          </ul>
        </div>
      )}
      {actionError && (
        <Text size="small" role="alert" className="text-ui-fg-error px-6 py-3">
          {actionError}
        </Text>
      )}
    </Container>
  )
}

export const config = defineWidgetConfig({
  id: "qikink-graphql:order",
  zone: "order.details.side",
})

export default QikinkOrderWidget
