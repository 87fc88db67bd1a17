// "Variant mappings": which Qikink SKU each store variant is printed as; add, update, delete.

import {
  ApiError,
  createProductMapping,
  deleteProductMapping,
  listProductMappings,
  searchProductMappings,
  updateProductMapping,
} from "./api.js";
import {
  cell,
  confirmDialog,
  errorMessage,
  formDialog,
  h,
  pager,
  replaceKeepingFocus,
  summaryText,
  time,
  toast,
} from "./ui.js";

const PAGE_SIZE = 20;
const VARIANT_HINT = "The store's product variant id, e.g. variant_01JD…";
const SKU_HINT = "The SKU of the product in your Qikink “My Products”, e.g. MVnHs-Wh-S (at most 50 characters).";

export function mountVariants(main) {
  const state = { search: "", offset: 0, loadSeq: 0, alive: true };

  const heading = h("h1", { id: "variants-heading", tabindex: "-1" }, "Variant mappings");
  const addButton = h("button", { type: "button", class: "button primary", onclick: () => add() }, "Add Qikink Variant");
  const searchInput = h("input", {
    id: "variant-search",
    name: "q",
    type: "search",
    placeholder: "variant_01J… or MVnHs-Wh-S",
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "variant-search-hint",
  });
  const clearButton = h("button", { type: "button", class: "button subtle", hidden: true }, "Clear");
  const toolbar = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Search variant mappings" },
    h(
      "div",
      { class: "field grow" },
      h("label", { for: "variant-search" }, "Search by variant id or SKU"),
      searchInput,
      h("p", { id: "variant-search-hint", class: "hint" }, "The whole variant id or Qikink SKU, exactly."),
    ),
    h("div", { class: "toolbar-actions" }, h("button", { type: "submit", class: "button" }, "Search"), clearButton),
  );
  const summary = h("p", { class: "summary", "aria-live": "polite" });
  const results = h("div", { class: "results" });

  main.replaceChildren(
    h(
      "section",
      { class: "page", "aria-labelledby": "variants-heading" },
      h(
        "div",
        { class: "page-head" },
        h(
          "div",
          {},
          heading,
          h("p", { class: "muted" }, "Which Qikink SKU each store variant is printed as. Only mapped variants are sent to Qikink."),
        ),
        addButton,
      ),
      toolbar,
      summary,
      results,
    ),
  );

  toolbar.addEventListener("submit", (event) => {
    event.preventDefault();
    state.search = searchInput.value.trim();
    state.offset = 0;
    clearButton.hidden = !state.search;
    load();
  });
  clearButton.addEventListener("click", () => {
    searchInput.value = "";
    state.search = "";
    state.offset = 0;
    clearButton.hidden = true;
    searchInput.focus();
    load();
  });

  async function load() {
    const seq = ++state.loadSeq;
    results.setAttribute("aria-busy", "true");
    let rows;
    let count;
    try {
      if (state.search) {
        rows = await searchProductMappings(state.search);
        count = rows.length;
      } else {
        const page = await listProductMappings({ limit: PAGE_SIZE, offset: state.offset });
        rows = page.nodes;
        count = page.count;
        if (rows.length === 0 && state.offset > 0) {
          // The last item of the last page went away: show the page before it.
          state.offset = Math.max(0, state.offset - PAGE_SIZE);
          return load();
        }
      }
    } catch (error) {
      if (seq !== state.loadSeq || !state.alive) return;
      results.removeAttribute("aria-busy");
      if (error instanceof ApiError && error.isAuthFailure) return;
      summary.textContent = "";
      replaceKeepingFocus(results, h("p", { class: "notice error", role: "alert" }, `The mappings could not be loaded: ${errorMessage(error)}`));
      return;
    }
    if (seq !== state.loadSeq || !state.alive) return;
    results.removeAttribute("aria-busy");
    render(rows, count);
  }

  function render(rows, count) {
    const offset = state.search ? 0 : state.offset;
    summary.textContent = summaryText({ count, offset, shown: rows.length, noun: "mappings" });
    if (rows.length === 0) {
      replaceKeepingFocus(
        results,
        state.search
          ? h("p", { class: "empty" }, `No mapping has the variant id or SKU “${state.search}”.`)
          : h(
              "div",
              { class: "empty" },
              h("p", {}, "No variant is mapped to Qikink yet."),
              h("p", { class: "muted" }, "Use “Add Qikink Variant” to print a store variant as a Qikink product."),
            ),
      );
      return;
    }
    replaceKeepingFocus(
      results,
      h(
        "table",
        { class: "table variants" },
        h("caption", { class: "visually-hidden" }, "Variant mappings"),
        h(
          "thead",
          {},
          h("tr", {}, ["Variant id", "Qikink SKU", "Updated", "Actions"].map((name) => h("th", { scope: "col" }, name))),
        ),
        h("tbody", {}, rows.map(mappingRow)),
      ),
      state.search
        ? null
        : pager({
            count,
            limit: PAGE_SIZE,
            offset: state.offset,
            label: "Mapping pages",
            onPage: (offset) => {
              state.offset = Math.max(0, offset);
              load();
            },
          }),
    );
  }

  function mappingRow(row) {
    return h(
      "tr",
      { dataset: { id: row.id } },
      cell("Variant id", h("span", { class: "mono" }, row.variantId)),
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
    if (!created || !state.alive) return;
    toast("Qikink variant mapping created successfully.");
    load();
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
    if (!updated || !state.alive) return;
    toast("Qikink variant mapping updated.");
    load();
  }

  async function remove(row) {
    const done = await confirmDialog({
      title: "Delete Qikink Variant",
      message: `Remove the mapping of variant ${row.variantId} to Qikink SKU ${row.qikinkSkuId}? Orders for this variant will no longer be sent to Qikink. Orders already sent stay as they are.`,
      confirmLabel: "Delete Qikink Variant",
      busyLabel: "Deleting…",
      onConfirm: () => deleteProductMapping(row.id),
    });
    if (!done || !state.alive) return;
    toast("Qikink variant mapping removed.");
    heading.focus();
    load();
  }

  load();

  return {
    focus: () => heading.focus(),
    unmount() {
      state.alive = false;
    },
  };
}
