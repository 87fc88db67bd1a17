// "Variant mappings": which Qikink SKU each store variant is printed as; add, update, delete.

import {
  createProductMapping,
  deleteProductMapping,
  listProductMappings,
  searchProductMappings,
  updateProductMapping,
} from "./api.js";
import { confirmDialog, formDialog } from "./dialogs.js";
import { cell, mountList } from "./list.js";
import { h, time, toast } from "./ui.js";

const VARIANT_HINT = "The store's product variant id, e.g. variant_01JD…";
const SKU_HINT = "The SKU of the product in your Qikink “My Products”, e.g. MVnHs-Wh-S (at most 50 characters).";

export function mountVariants(main) {
  const list = mountList(main, {
    id: "variants-heading",
    title: "Variant mappings",
    intro: "Which Qikink SKU each store variant is printed as. Only mapped variants are sent to Qikink.",
    action: h("button", { type: "button", class: "button primary", onclick: () => add() }, "Add Qikink Variant"),
    toolbarLabel: "Search variant mappings",
    search: {
      id: "variant-search",
      label: "Search by variant id or SKU",
      placeholder: "variant_01J… or MVnHs-Wh-S",
      hint: "The whole variant id or Qikink SKU, exactly.",
    },
    noun: "mappings",
    fetchPage: ({ limit, offset }) => listProductMappings({ limit, offset }),
    fetchSearch: (text) => searchProductMappings(text),
    table: {
      class: "variants",
      caption: "Variant mappings",
      columns: ["Variant", "Qikink SKU", "Updated", "Actions"],
      row: mappingRow,
    },
    pagerLabel: "Mapping pages",
    empty: (search) =>
      search
        ? h("p", { class: "empty" }, `No mapping has the variant id or SKU “${search}”.`)
        : h(
            "div",
            { class: "empty" },
            h("p", {}, "No variant is mapped to Qikink yet."),
            h("p", { class: "muted" }, "Use “Add Qikink Variant” to print a store variant as a Qikink product."),
          ),
    // Deleting the last mapping of the last page leaves it empty: show the page before it.
    stepBack: true,
  });

  function mappingRow(row) {
    return h(
      "tr",
      { dataset: { id: row.id } },
      cell("Variant", ...variantNames(row)),
      cell("Qikink SKU", h("span", { class: "mono sku" }, row.qikinkSkuId)),
      cell("Updated", time(row.updatedAt)),
      cell(
        "Actions",
        h(
          "div",
          { class: "row-actions" },
          h(
            "button",
            {
              type: "button",
              class: "button small",
              "aria-label": `Update Qikink Variant for ${row.variantId}`,
              dataset: { focusKey: `update:${row.id}` },
              onclick: () => update(row),
            },
            "Update",
          ),
          h(
            "button",
            {
              type: "button",
              class: "button small danger-outline",
              "aria-label": `Delete Qikink Variant for ${row.variantId}`,
              dataset: { focusKey: `delete:${row.id}` },
              onclick: () => remove(row),
            },
            "Delete",
          ),
        ),
      ),
    );
  }

  // What the store calls the variant (kept from Medusa when the service is connected to it),
  // then its id; without Medusa, the id alone.
  function variantNames(row) {
    const title = [row.productTitle, row.variantTitle].filter(Boolean).join(" · ");
    return [
      title ? h("span", { class: "variant-title" }, title) : null,
      h("span", { class: title ? "mono sub" : "mono" }, row.variantId),
      row.variantSku ? h("span", { class: "sub" }, `SKU ${row.variantSku}`) : null,
    ];
  }

  async function add() {
    const created = await formDialog({
      title: "Add Qikink Variant",
      description: "Print a store variant as a product of your Qikink account.",
      fields: [
        { name: "variantId", label: "Variant id", hint: VARIANT_HINT, maxlength: 255 },
        { name: "qikinkSkuId", label: "Qikink SKU", hint: SKU_HINT, maxlength: 50 },
      ],
      submitLabel: "Add Qikink Variant",
      busyLabel: "Adding…",
      onSubmit: (values) => createProductMapping(values),
    });
    if (!created || !list.alive) return;
    toast("Qikink variant mapping created successfully.");
    list.load();
  }

  async function update(row) {
    const updated = await formDialog({
      title: "Update Qikink Variant",
      description: "Change the Qikink SKU this variant is printed as (or the variant it belongs to).",
      fields: [
        { name: "variantId", label: "Variant id", hint: VARIANT_HINT, maxlength: 255, value: row.variantId },
        { name: "qikinkSkuId", label: "Qikink SKU", hint: SKU_HINT, maxlength: 50, value: row.qikinkSkuId, autofocus: true },
      ],
      submitLabel: "Update Qikink Variant",
      busyLabel: "Saving…",
      onSubmit: (values) => {
        const input = {};
        if (values.variantId !== row.variantId) input.variantId = values.variantId;
        if (values.qikinkSkuId !== row.qikinkSkuId) input.qikinkSkuId = values.qikinkSkuId;
        return Object.keys(input).length ? updateProductMapping(row.id, input) : row;
      },
    });
    if (!updated || !list.alive) return;
    toast("Qikink variant mapping updated.");
    list.load();
  }

  async function remove(row) {
    const done = await confirmDialog({
      title: "Delete Qikink Variant",
      message: `Remove the mapping of variant ${row.variantId} to Qikink SKU ${row.qikinkSkuId}? Orders for this variant will no longer be sent to Qikink. Orders already sent stay as they are.`,
      confirmLabel: "Delete Qikink Variant",
      busyLabel: "Deleting…",
      onConfirm: () => deleteProductMapping(row.id),
    });
    if (!done || !list.alive) return;
    toast("Qikink variant mapping removed.");
    list.heading.focus();
    list.load();
  }

  list.load();
  return list;
}
