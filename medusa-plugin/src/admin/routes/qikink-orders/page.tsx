import { defineRouteConfig } from "@medusajs/admin-sdk"
import { ArrowPath, TruckFast } from "@medusajs/icons"
import { Button, Container, Heading, Input, StatusBadge, Table, Text, toast } from "@medusajs/ui"
import { useCallback, useEffect, useRef, useState } from "react"
import { Link } from "react-router-dom"
import { api, formatDate, messageOf, STATUS_WORDS, statusWords, type OrderMapping, type RefreshResult } from "../../lib/api"

const PAGE_SIZE = 20

type Page = { order_mappings: OrderMapping[]; count: number }
type Loaded = { state: "loading" } | { state: "error"; message: string } | { state: "ready"; page: Page }

function orderLabel(mapping: OrderMapping): string {
  return mapping.medusaDisplayId ? `#${mapping.medusaDisplayId}` : mapping.medusaOrderId
}

function describeChanges(result: RefreshResult): string {
  if (!result.changes.length) {
    const checked = `${result.processed} ${result.processed === 1 ? "order" : "orders"}`
    return `Nothing changed (${checked} checked with Qikink).`
  }
  const moves = result.changes.map(
    (c) => `${orderLabel(c.order_mapping)} ${statusWords(c.previous_status).label} → ${statusWords(c.order_mapping.status).label}`
  )
  const noun = result.changes.length === 1 ? "order" : "orders"
  return `${result.changes.length} ${noun} changed: ${moves.join(", ")}.`
}

const QikinkOrdersPage = () => {
  const [pageIndex, setPageIndex] = useState(0)
  const [status, setStatus] = useState("")
  const [search, setSearch] = useState("")
  const [query, setQuery] = useState("")
  const [loaded, setLoaded] = useState<Loaded>({ state: "loading" })
  const [refreshing, setRefreshing] = useState(false)
  const [report, setReport] = useState<{ text: string; error: boolean } | null>(null)
  const [retrying, setRetrying] = useState<string | null>(null)
  const latest = useRef(0)
  const refreshedOnOpen = useRef(false)

  const load = useCallback(async () => {
    const ticket = ++latest.current
    const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(pageIndex * PAGE_SIZE) })
    if (status) params.set("status", status)
    if (query) params.set("q", query)
    try {
      const page = await api<Page>(`/order-mappings?${params}`)
      // Only the newest request's answer is shown: a slower older one never overwrites it.
      if (ticket === latest.current) setLoaded({ state: "ready", page })
    } catch (error) {
      if (ticket === latest.current) setLoaded({ state: "error", message: messageOf(error) })
    }
  }, [pageIndex, status, query])

  // Bumped after a refresh or a retry: the list loads again with the filters of that moment
  // (a refresh started before the filter changed must not bring back the unfiltered page).
  const [reloads, setReloads] = useState(0)

  useEffect(() => {
    void load()
  }, [load, reloads])

  const refresh = useCallback(async () => {
    setRefreshing(true)
    try {
      const result = await api<RefreshResult>("/order-mappings/refresh", { method: "POST", body: {} })
      setReport({ text: describeChanges(result), error: false })
      setReloads((n) => n + 1)
    } catch (error) {
      setReport({ text: `Refresh failed: ${messageOf(error)}`, error: true })
    } finally {
      setRefreshing(false)
    }
  }, [])

  useEffect(() => {
    // Once per visit, also under React's StrictMode (which runs effects twice in development).
    if (refreshedOnOpen.current) return
    refreshedOnOpen.current = true
    void refresh()
  }, [refresh])

  const retry = async (mapping: OrderMapping) => {
    setRetrying(mapping.id)
    try {
      await api(`/order-mappings/${mapping.id}/retry`, { method: "POST" })
      toast.success(`Order ${orderLabel(mapping)} is queued to be sent to Qikink again.`)
      setReloads((n) => n + 1)
    } catch (error) {
      toast.error(messageOf(error))
    } finally {
      setRetrying(null)
    }
  }

  const page = loaded.state === "ready" ? loaded.page : null
  const pageCount = page ? Math.max(1, Math.ceil(page.count / PAGE_SIZE)) : 1

  return (
    <Container className="divide-y p-0">
      <div className="flex flex-wrap items-center justify-between gap-2 px-6 py-4">
        <div>
          <Heading level="h1">Qikink Orders</Heading>
          <Text size="small" className="text-ui-fg-subtle">
            Your store's orders that Qikink prints, with Qikink's status and tracking.
          </Text>
        </div>
        <Button size="small" variant="secondary" onClick={() => void refresh()} isLoading={refreshing}>
          <ArrowPath />
          Refresh status
        </Button>
      </div>
      {report && (
        <Text size="small" role="status" className={`px-6 py-3 ${report.error ? "text-ui-fg-error" : "text-ui-fg-subtle"}`}>
          {report.text}
        </Text>
      )}
      <form
        className="flex flex-wrap items-center gap-2 px-6 py-3"
        onSubmit={(event) => {
          event.preventDefault()
          setPageIndex(0)
          setQuery(search.trim())
        }}
      >
        <select
          aria-label="Status"
          className="bg-ui-bg-field shadow-borders-base txt-compact-small h-8 rounded-md px-2"
          value={status}
          onChange={(event) => {
            setPageIndex(0)
            setStatus(event.target.value)
          }}
        >
          <option value="">All statuses</option>
          {Object.entries(STATUS_WORDS).map(([value, words]) => (
            <option key={value} value={value}>
              {words.label}
            </option>
          ))}
        </select>
        <div className="w-64">
          <Input
            size="small"
            type="search"
            aria-label="Search by order id or display id"
            placeholder="Order id or #display id"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
          />
        </div>
        <Button size="small" variant="secondary" type="submit">
          Search
        </Button>
      </form>
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
      {page && page.order_mappings.length === 0 && (
        <Text size="small" className="text-ui-fg-subtle px-6 py-4">
          {status || query ? "No Qikink order matches." : "No order has been sent to Qikink yet."}
        </Text>
      )}
      {page && page.order_mappings.length > 0 && (
        <>
          <Table>
            <Table.Header>
              <Table.Row>
                <Table.HeaderCell>Order</Table.HeaderCell>
                <Table.HeaderCell>Qikink order</Table.HeaderCell>
                <Table.HeaderCell>Status</Table.HeaderCell>
                <Table.HeaderCell>Qikink status</Table.HeaderCell>
                <Table.HeaderCell>Tracking</Table.HeaderCell>
                <Table.HeaderCell>Created</Table.HeaderCell>
                <Table.HeaderCell />
              </Table.Row>
            </Table.Header>
            <Table.Body>
              {page.order_mappings.map((mapping) => {
                const words = statusWords(mapping.status)
                return (
                  <Table.Row key={mapping.id} data-order-id={mapping.medusaOrderId}>
                    <Table.Cell>
                      <Link to={`/orders/${mapping.medusaOrderId}`} className="text-ui-fg-interactive hover:underline">
                        {orderLabel(mapping)}
                      </Link>
                    </Table.Cell>
                    <Table.Cell>
                      <div>{mapping.qikinkOrderNumber ?? "-"}</div>
                      {mapping.qikinkOrderId && <div className="text-ui-fg-subtle">id {mapping.qikinkOrderId}</div>}
                    </Table.Cell>
                    <Table.Cell>
                      <StatusBadge color={words.color}>{words.label}</StatusBadge>
                      {mapping.status === "FAILED" && mapping.lastError && (
                        <div className="text-ui-fg-error max-w-xs whitespace-normal">{mapping.lastError}</div>
                      )}
                    </Table.Cell>
                    <Table.Cell>{mapping.qikinkStatus ?? "-"}</Table.Cell>
                    <Table.Cell>
                      {mapping.trackingUrl ? (
                        <a href={mapping.trackingUrl} target="_blank" rel="noreferrer" className="text-ui-fg-interactive hover:underline">
                          {mapping.trackingNumber ?? "Track"}
                        </a>
                      ) : (
                        mapping.trackingNumber ?? "-"
                      )}
                      {mapping.courier && <div className="text-ui-fg-subtle">{mapping.courier}</div>}
                    </Table.Cell>
                    <Table.Cell>{formatDate(mapping.createdAt)}</Table.Cell>
                    <Table.Cell>
                      {mapping.status === "FAILED" && (
                        <Button size="small" variant="secondary" isLoading={retrying === mapping.id} onClick={() => void retry(mapping)}>
                          Retry
                        </Button>
                      )}
                    </Table.Cell>
                  </Table.Row>
                )
              })}
            </Table.Body>
          </Table>
          <Table.Pagination
            count={page.count}
            pageSize={PAGE_SIZE}
            pageIndex={pageIndex}
            pageCount={pageCount}
            canPreviousPage={pageIndex > 0}
            canNextPage={pageIndex + 1 < pageCount}
            previousPage={() => setPageIndex((i) => Math.max(0, i - 1))}
            nextPage={() => setPageIndex((i) => i + 1)}
          />
        </>
      )}
    </Container>
  )
}

export const config = defineRouteConfig({
  label: "Qikink Orders",
  icon: TruckFast,
})

export default QikinkOrdersPage
