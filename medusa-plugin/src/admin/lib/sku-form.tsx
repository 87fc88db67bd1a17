import { Button, Drawer, Input, Label, Text } from "@medusajs/ui"
import { useEffect, useState } from "react"

/** The drawer asking for one Qikink SKU; `onSave` resolves, or rejects with words to show. */
export function SkuDrawer({
  open,
  title,
  initial,
  onClose,
  onSave,
}: {
  open: boolean
  title: string
  initial: string
  onClose: () => void
  onSave: (sku: string) => Promise<void>
}) {
  const [sku, setSku] = useState(initial)
  const [error, setError] = useState<string | null>(null)
  const [saving, setSaving] = useState(false)

  useEffect(() => {
    if (open) {
      setSku(initial)
      setError(null)
    }
  }, [open, initial])

  const save = async () => {
    if (!sku.trim()) {
      setError("Enter the Qikink SKU, as it is in your Qikink account (e.g. MVnHs-Wh-S).")
      return
    }
    setSaving(true)
    setError(null)
    try {
      await onSave(sku.trim())
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    } finally {
      setSaving(false)
    }
  }

  return (
    <Drawer open={open} onOpenChange={(next) => !next && !saving && onClose()}>
      <Drawer.Content>
        <Drawer.Header>
          <Drawer.Title>{title}</Drawer.Title>
          <Drawer.Description className="sr-only">The Qikink SKU this variant is printed as.</Drawer.Description>
        </Drawer.Header>
        <Drawer.Body className="flex flex-col gap-y-2">
          <form
            id="qikink-sku-form"
            className="flex flex-col gap-y-2"
            onSubmit={(event) => {
              event.preventDefault()
              void save()
            }}
          >
            <Label htmlFor="qikink-sku" size="small" weight="plus">
              Qikink SKU
            </Label>
            <Input
              id="qikink-sku"
              name="qikink_sku_id"
              placeholder="MVnHs-Wh-S"
              value={sku}
              autoFocus
              onChange={(event) => setSku(event.target.value)}
            />
            <Text size="small" className="text-ui-fg-subtle">
              The SKU of the product in your Qikink account that Qikink prints for this variant.
            </Text>
            {error && (
              <Text size="small" role="alert" className="text-ui-fg-error">
                {error}
              </Text>
            )}
          </form>
        </Drawer.Body>
        <Drawer.Footer>
          <Button variant="secondary" size="small" onClick={onClose} disabled={saving}>
            Cancel
          </Button>
          <Button size="small" type="submit" form="qikink-sku-form" isLoading={saving}>
            Save
          </Button>
        </Drawer.Footer>
      </Drawer.Content>
    </Drawer>
  )
}
