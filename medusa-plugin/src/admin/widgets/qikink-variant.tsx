import { defineWidgetConfig } from "@medusajs/admin-sdk"
import { EllipsisHorizontal, PencilSquare, Trash } from "@medusajs/icons"
import type { AdminProductVariant, DetailWidgetProps } from "@medusajs/framework/types"
import { Button, Container, DropdownMenu, Heading, IconButton, Text, toast, usePrompt } from "@medusajs/ui"
import { useCallback, useEffect, useState } from "react"
import { api, messageOf, type ProductMapping } from "../lib/api"
import { SkuDrawer } from "../lib/sku-form"

type Loaded = { state: "loading" } | { state: "error"; message: string } | { state: "ready"; mapping: ProductMapping | null }

const QikinkVariantWidget = ({ data: variant }: DetailWidgetProps<AdminProductVariant>) => {
  const [loaded, setLoaded] = useState<Loaded>({ state: "loading" })
  const [form, setForm] = useState<"create" | "update" | null>(null)
  const prompt = usePrompt()

  const load = useCallback(async (isCurrent: () => boolean = () => true) => {
    try {
      const found = await api<{ variant_mappings: ProductMapping[] }>(
        `/variant-mappings?variant_id=${encodeURIComponent(variant.id)}`
      )
      if (isCurrent()) setLoaded({ state: "ready", mapping: found.variant_mappings[0] ?? null })
    } catch (error) {
      if (isCurrent()) setLoaded({ state: "error", message: messageOf(error) })
    }
  }, [variant.id])

  useEffect(() => {
    let current = true
    void load(() => current)
    return () => {
      current = false
    }
  }, [load])

  const mapping = loaded.state === "ready" ? loaded.mapping : null

  const save = async (sku: string) => {
    if (form === "update" && mapping) {
      const saved = await api<{ variant_mapping: ProductMapping }>(`/variant-mappings/${mapping.id}`, {
        method: "POST",
        body: { qikink_sku_id: sku },
      })
      setLoaded({ state: "ready", mapping: saved.variant_mapping })
      toast.success("Qikink variant mapping updated.")
    } else {
      const saved = await api<{ variant_mapping: ProductMapping }>("/variant-mappings", {
        method: "POST",
        body: { variant_id: variant.id, qikink_sku_id: sku },
      })
      setLoaded({ state: "ready", mapping: saved.variant_mapping })
      toast.success("Qikink variant mapping created successfully.")
    }
    setForm(null)
  }

  const remove = async () => {
    if (!mapping) return
    const confirmed = await prompt({
      title: "Delete Qikink Variant?",
      description: `Orders of this variant will no longer be sent to Qikink for ${mapping.qikinkSkuId}.`,
      confirmText: "Delete",
      cancelText: "Cancel",
    })
    if (!confirmed) return
    try {
      await api(`/variant-mappings/${mapping.id}`, { method: "DELETE" })
      setLoaded({ state: "ready", mapping: null })
      toast.success("Qikink variant mapping removed.")
    } catch (error) {
      toast.error(messageOf(error))
    }
  }

  return (
    <Container className="divide-y p-0">
      <div className="flex items-center justify-between px-6 py-4">
        <Heading level="h2">Qikink Variant</Heading>
        {loaded.state === "ready" && !mapping && (
          <Button size="small" variant="secondary" onClick={() => setForm("create")}>
            Add Qikink Variant
          </Button>
        )}
        {mapping && (
          <DropdownMenu>
            <DropdownMenu.Trigger asChild>
              <IconButton size="small" variant="transparent" aria-label="Qikink variant actions">
                <EllipsisHorizontal />
              </IconButton>
            </DropdownMenu.Trigger>
            <DropdownMenu.Content>
              <DropdownMenu.Item className="gap-x-2" onClick={() => setForm("update")}>
                <PencilSquare className="text-ui-fg-subtle" />
                Update Qikink Variant
              </DropdownMenu.Item>
              <DropdownMenu.Separator />
              <DropdownMenu.Item className="gap-x-2" onClick={() => void remove()}>
                <Trash className="text-ui-fg-subtle" />
                Delete Qikink Variant
              </DropdownMenu.Item>
            </DropdownMenu.Content>
          </DropdownMenu>
        )}
      </div>
      <div className="text-ui-fg-subtle grid grid-cols-2 items-center px-6 py-4">
        <Text size="small" weight="plus" leading="compact">
          Qikink SKU
        </Text>
        {loaded.state === "loading" && <Text size="small">Loading…</Text>}
        {loaded.state === "error" && (
          <Text size="small" role="alert" className="text-ui-fg-error">
            {loaded.message}
          </Text>
        )}
        {loaded.state === "ready" && (
          <Text size="small" data-testid="qikink-variant-sku">
            {mapping ? mapping.qikinkSkuId : "Not mapped: Qikink does not print this variant."}
          </Text>
        )}
      </div>
      <SkuDrawer
        open={form !== null}
        title={form === "update" ? "Update Qikink Variant" : "Add Qikink Variant"}
        initial={form === "update" && mapping ? mapping.qikinkSkuId : ""}
        onClose={() => setForm(null)}
        onSave={save}
      />
    </Container>
  )
}

export const config = defineWidgetConfig({
  id: "qikink-graphql:variant",
  zone: "product_variant.details",
})

export default QikinkVariantWidget
