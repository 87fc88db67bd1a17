import { defineWidgetConfig } from "@medusajs/admin-sdk"
import type { AdminProduct, DetailWidgetProps } from "@medusajs/framework/types"
import { Button, Container, Drawer, Heading, Input, StatusBadge, Table, Text, toast } from "@medusajs/ui"
import { useCallback, useEffect, useState } from "react"
import { api, medusaApi, messageOf, type ProductMapping, type RowOutcome } from "../lib/api"

type Variant = { id: string; title: string | null; sku: string | null }

type Loaded =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "ready"; variants: Variant[]; byVariant: Record<string, ProductMapping> }

// The product page loads its product without variants (it pages them itself), and the
// service takes at most 200 variants a call.
const MAX_VARIANTS = 200

const OUTCOME_WORDS: Record<RowOutcome["outcome"], string> = {
  created: "Saved",
  updated: "Saved",
  deleted: "Removed",
  unchanged: "Unchanged",
  refused: "Refused",
}

const QikinkProductSkusWidget = ({ data: product }: DetailWidgetProps<AdminProduct>) => {
  const [loaded, setLoaded] = useState<Loaded>({ state: "loading" })
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState<Record<string, string>>({})
  const [outcomes, setOutcomes] = useState<Record<string, RowOutcome>>({})
  const [saving, setSaving] = useState(false)
  const [formError, setFormError] = useState<string | null>(null)

  const load = useCallback(async (isCurrent: () => boolean = () => true) => {
    try {
      const { variants } = await medusaApi<{ variants: Variant[] }>(
        `/admin/products/${encodeURIComponent(product.id)}/variants?limit=${MAX_VARIANTS}&fields=id,title,sku`
      )
      let byVariant: Record<string, ProductMapping> = {}
      if (variants.length) {
        const ids = variants.map((v) => v.id).join(",")
        const found = await api<{ variant_mappings: ProductMapping[] }>(
          `/variant-mappings?variant_id=${encodeURIComponent(ids)}`
        )
        byVariant = Object.fromEntries(found.variant_mappings.map((m) => [m.variantId, m]))
      }
      if (isCurrent()) setLoaded({ state: "ready", variants, byVariant })
    } catch (error) {
      if (isCurrent()) setLoaded({ state: "error", message: messageOf(error) })
    }
  }, [product.id])

  useEffect(() => {
    let current = true
    void load(() => current)
    return () => {
      current = false
    }
  }, [load])

  const byVariant = loaded.state === "ready" ? loaded.byVariant : {}
  const variants = loaded.state === "ready" ? loaded.variants : []

  const openForm = () => {
    setDraft(Object.fromEntries(variants.map((v) => [v.id, byVariant[v.id]?.qikinkSkuId ?? ""])))
    setOutcomes({})
    setFormError(null)
    setEditing(true)
  }

  const save = async () => {
    setSaving(true)
    setFormError(null)
    try {
      const result = await api<{ rows: RowOutcome[] }>("/variant-mappings/batch", {
        method: "POST",
        body: { rows: variants.map((v) => ({ variant_id: v.id, qikink_sku_id: draft[v.id] ?? "" })) },
      })
      const next: Record<string, RowOutcome> = {}
      const mappings = { ...byVariant }
      for (const row of result.rows) {
        next[row.variant_id] = row
        if (row.mapping) mappings[row.variant_id] = row.mapping
        else if (row.outcome === "deleted") delete mappings[row.variant_id]
      }
      setOutcomes(next)
      setLoaded({ state: "ready", variants, byVariant: mappings })
      const refused = result.rows.filter((r) => r.outcome === "refused").length
      if (refused) {
        toast.error(`${refused} of ${result.rows.length} variants were not saved: see why below.`)
      } else {
        toast.success("Qikink SKUs saved.")
        setEditing(false)
      }
    } catch (error) {
      setFormError(messageOf(error))
    } finally {
      setSaving(false)
    }
  }

  return (
    <Container className="divide-y p-0">
      <div className="flex items-center justify-between px-6 py-4">
        <Heading level="h2">Qikink SKUs</Heading>
        {loaded.state === "ready" && variants.length > 0 && (
          <Button size="small" variant="secondary" onClick={openForm}>
            Edit Qikink SKUs
          </Button>
        )}
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
      {loaded.state === "ready" && (
        <Table>
          <Table.Header>
            <Table.Row>
              <Table.HeaderCell>Variant</Table.HeaderCell>
              <Table.HeaderCell>Qikink SKU</Table.HeaderCell>
              <Table.HeaderCell>Last save</Table.HeaderCell>
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {variants.map((variant) => {
              const outcome = outcomes[variant.id]
              return (
                <Table.Row key={variant.id} data-variant-id={variant.id}>
                  <Table.Cell>{variant.title ?? variant.sku ?? variant.id}</Table.Cell>
                  <Table.Cell>{byVariant[variant.id]?.qikinkSkuId ?? "not mapped"}</Table.Cell>
                  <Table.Cell>
                    {outcome ? (
                      <span title={outcome.message}>
                        <StatusBadge color={outcome.outcome === "refused" ? "red" : "green"}>
                          {OUTCOME_WORDS[outcome.outcome]}
                        </StatusBadge>
                      </span>
                    ) : (
                      "-"
                    )}
                  </Table.Cell>
                </Table.Row>
              )
            })}
          </Table.Body>
        </Table>
      )}
      <Drawer open={editing} onOpenChange={(open) => !open && !saving && setEditing(false)}>
        <Drawer.Content>
          <Drawer.Header>
            <Drawer.Title>Qikink SKUs of {product.title}</Drawer.Title>
            <Drawer.Description className="sr-only">The Qikink SKU of each variant of this product.</Drawer.Description>
          </Drawer.Header>
          <Drawer.Body className="flex flex-col gap-y-4 overflow-y-auto">
            <Text size="small" className="text-ui-fg-subtle">
              The Qikink SKU each variant is printed as. Leave a SKU empty to stop sending that
              variant to Qikink.
            </Text>
            <form
              id="qikink-skus-form"
              className="flex flex-col gap-y-3"
              onSubmit={(event) => {
                event.preventDefault()
                void save()
              }}
            >
              {variants.map((variant) => {
                const outcome = outcomes[variant.id]
                const label = variant.title ?? variant.sku ?? variant.id
                return (
                  <div key={variant.id} className="flex flex-col gap-y-1" data-variant-id={variant.id}>
                    <label htmlFor={`qikink-sku-${variant.id}`} className="txt-compact-small-plus">
                      {label}
                    </label>
                    <Input
                      id={`qikink-sku-${variant.id}`}
                      aria-label={`Qikink SKU of ${label}`}
                      placeholder="not mapped"
                      value={draft[variant.id] ?? ""}
                      onChange={(event) => setDraft({ ...draft, [variant.id]: event.target.value })}
                    />
                    {outcome && (
                      <Text
                        size="small"
                        className={outcome.outcome === "refused" ? "text-ui-fg-error" : "text-ui-fg-subtle"}
                      >
                        {outcome.outcome === "refused"
                          ? `Refused: ${outcome.message}`
                          : `${OUTCOME_WORDS[outcome.outcome]}.`}
                      </Text>
                    )}
                  </div>
                )
              })}
              {formError && (
                <Text size="small" role="alert" className="text-ui-fg-error">
                  {formError}
                </Text>
              )}
            </form>
          </Drawer.Body>
          <Drawer.Footer>
            <Button variant="secondary" size="small" onClick={() => setEditing(false)} disabled={saving}>
              Close
            </Button>
            <Button size="small" type="submit" form="qikink-skus-form" isLoading={saving}>
              Save
            </Button>
          </Drawer.Footer>
        </Drawer.Content>
      </Drawer>
    </Container>
  )
}

export const config = defineWidgetConfig({
  id: "qikink-graphql:product-skus",
  zone: "product.details",
})

export default QikinkProductSkusWidget
