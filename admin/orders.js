// "Qikink Orders": the order mappings, a status refresh on open and on demand, and a retry for
// submissions Qikink refused.

import {
  ApiError,
  listOrderMappings,
  refreshOrderMappings,
  retryOrderSubmission,
  searchOrderMappings,
} from "./api.js";
import {
  STATUSES,
  cell,
  errorMessage,
  h,
  pager,
  replaceKeepingFocus,
  safeUrl,
  statusBadge,
  summaryText,
  time,
  toast,
} from "./ui.js";

const PAGE_SIZE = 20;
// While a listed order is waiting for the worker, look again every so often, a bounded number
// of times, so a retried order is seen leaving PENDING without anyone reloading.
const PENDING_POLL_MS = 1500;
const PENDING_POLL_MAX = 40;

export function mountOrders(main) {
  const state = { status: "", search: "", offset: 0, loadSeq: 0, polls: 0, pollTimer: null, alive: true };

  const heading = h("h1", { id: "orders-heading", tabindex: "-1" }, "Qikink Orders");
  const refreshLabel = h("span", {}, "Refresh status");
  const refreshButton = h(
    "button",
    { type: "button", class: "button primary", onclick: () => refresh() },
    h("span", { class: "spinner", "aria-hidden": "true" }),
    refreshLabel,
  );
  const progress = h(
    "div",
    { class: "progress", hidden: true },
    h("div", { class: "progress-bar", role: "progressbar", "aria-label": "Refreshing statuses from Qikink" }),
  );
  const progressText = h("p", { class: "visually-hidden", role: "status" });

  const statusSelect = h(
    "select",
    { id: "order-status", name: "status" },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map(([value, label]) => h("option", { value }, label)),
  );
  const searchInput = h("input", {
    id: "order-search",
    name: "q",
    type: "search",
    placeholder: "order_01J… or 4518823",
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "order-search-hint",
  });
  const clearButton = h("button", { type: "button", class: "button subtle", hidden: true }, "Clear");
  const toolbar = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Filter orders" },
    h("div", { class: "field" }, h("label", { for: "order-status" }, "Status"), statusSelect),
    h(
      "div",
      { class: "field grow" },
      h("label", { for: "order-search" }, "Search by order id"),
      searchInput,
      h("p", { id: "order-search-hint", class: "hint" }, "The store order id or the Qikink order id, exactly."),
    ),
    h("div", { class: "toolbar-actions" }, h("button", { type: "submit", class: "button" }, "Search"), clearButton),
  );
  const summary = h("p", { class: "summary", "aria-live": "polite" });
  const results = h("div", { class: "results" });

  main.replaceChildren(
    h(
      "section",
      { class: "page", "aria-labelledby": "orders-heading" },
      h(
        "div",
        { class: "page-head" },
        h(
          "div",
          {},
          heading,
          h("p", { class: "muted" }, "Store orders and the Qikink orders made for them."),
        ),
        refreshButton,
      ),
      progress,
      progressText,
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
  statusSelect.addEventListener("change", () => {
    state.status = statusSelect.value;
    state.offset = 0;
    load();
  });

  async function load({ quiet = false } = {}) {
    clearTimeout(state.pollTimer);
    if (!quiet) state.polls = 0;
    const seq = ++state.loadSeq;
    results.setAttribute("aria-busy", "true");
    let rows;
    let count;
    try {
      if (state.search) {
        rows = await searchOrderMappings(state.search, state.status || null);
        count = rows.length;
      } else {
        const page = await listOrderMappings({ status: state.status || null, limit: PAGE_SIZE, offset: state.offset });
        rows = page.nodes;
        count = page.count;
      }
    } catch (error) {
      if (seq !== state.loadSeq || !state.alive) return;
      results.removeAttribute("aria-busy");
      if (error instanceof ApiError && error.isAuthFailure) return;
      summary.textContent = "";
      replaceKeepingFocus(results, h("p", { class: "notice error", role: "alert" }, `The orders could not be loaded: ${errorMessage(error)}`));
      return;
    }
    if (seq !== state.loadSeq || !state.alive) return;
    results.removeAttribute("aria-busy");
    render(rows, count);
    if (rows.some((row) => row.status === "PENDING") && state.polls < PENDING_POLL_MAX) {
      state.polls += 1;
      state.pollTimer = setTimeout(() => load({ quiet: true }), PENDING_POLL_MS);
    }
  }

  function render(rows, count) {
    const offset = state.search ? 0 : state.offset;
    summary.textContent = summaryText({ count, offset, shown: rows.length, noun: "orders" });
    if (rows.length === 0) {
      replaceKeepingFocus(results, emptyState());
      return;
    }
    replaceKeepingFocus(
      results,
      h(
        "table",
        { class: "table orders" },
        h("caption", { class: "visually-hidden" }, "Qikink order mappings"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Store order", "Qikink order", "Status", "Qikink status", "Tracking", "Created", "Actions"].map((name) =>
              h("th", { scope: "col" }, name),
            ),
          ),
        ),
        h("tbody", {}, rows.map(orderRow)),
      ),
      state.search
        ? null
        : pager({
            count,
            limit: PAGE_SIZE,
            offset: state.offset,
            label: "Order pages",
            onPage: (offset) => {
              state.offset = Math.max(0, offset);
              load();
            },
          }),
    );
  }

  function emptyState() {
    if (state.search) {
      return h("p", { class: "empty" }, `No order has the store or Qikink order id “${state.search}”.`);
    }
    if (state.status) return h("p", { class: "empty" }, "No order has this status.");
    return h(
      "div",
      { class: "empty" },
      h("p", {}, "No orders yet."),
      h("p", { class: "muted" }, "Orders appear here once your store reports a placed order with a mapped variant."),
    );
  }

  function orderRow(row) {
    const failed = row.status === "FAILED";
    const neverSent = row.cancelRequested && row.status === "CANCELED" && !row.qikinkOrderId;
    const statusCell = cell(
      "Status",
      statusBadge(row.status),
      cancelNote(row),
      row.lastError && !neverSent
        ? h("p", { class: failed ? "row-error" : "row-note" }, failed ? "Qikink: " : "Last try: ", row.lastError)
        : null,
      storeNote(row),
    );
    const actionsCell = cell(
      "Actions",
      failed
        ? h(
            "button",
            {
              type: "button",
              class: "button small",
              "aria-label": `Retry order ${row.medusaOrderId}`,
              dataset: { focusKey: `retry:${row.id}` },
              onclick: (event) => retry(row, event.currentTarget),
            },
            "Retry",
          )
        : h("span", { class: "muted", "aria-hidden": "true" }, "—"),
    );
    if (!failed) actionsCell.classList.add("no-actions");
    return h(
      "tr",
      { dataset: { id: row.id, status: row.status } },
      cell("Store order", h("span", { class: "mono" }, row.medusaOrderId)),
      cell(
        "Qikink order",
        row.qikinkOrderId ? h("span", { class: "mono" }, row.qikinkOrderId) : h("span", { class: "muted" }, "Not created yet"),
        row.qikinkOrderNumber ? h("span", { class: "sub" }, `No. ${row.qikinkOrderNumber}`) : null,
      ),
      statusCell,
      cell("Qikink status", row.qikinkStatus ?? h("span", { class: "muted" }, "—")),
      cell("Tracking", tracking(row)),
      cell("Created", time(row.createdAt)),
      actionsCell,
    );
  }

  // Qikink has no cancel API: an order canceled in the store after Qikink had it must be
  // canceled on Qikink's dashboard, which it allows until printing starts.
  function cancelNote(row) {
    if (!row.cancelRequested) return null;
    if (row.status === "CANCELED") {
      return h(
        "p",
        { class: "row-note" },
        row.qikinkOrderId ? "Canceled in your store and on Qikink." : "Canceled in your store before it was sent: Qikink never had it.",
      );
    }
    if (row.status === "SUBMITTED" || row.qikinkStatus === "Live") {
      return h("p", { class: "row-error" }, "Canceled in your store: cancel it on Qikink's dashboard.");
    }
    if (["IN_PRODUCTION", "SHIPPED", "COMPLETED", "RETURNED"].includes(row.status)) {
      return h(
        "p",
        { class: "row-error" },
        "Canceled in your store, but Qikink has started printing it: it can no longer be canceled on Qikink.",
      );
    }
    return h("p", { class: "row-note" }, "Canceled in your store: it will not be sent to Qikink.");
  }

  // How far the store's order shows Qikink's progress (its fulfillment, shipment, delivery).
  function storeNote(row) {
    if (row.medusaSyncError) {
      return h("p", { class: "row-error" }, "Store: ", row.medusaSyncError);
    }
    const shown = { FULFILLED: "Store: fulfilled", SHIPPED: "Store: shipped", DELIVERED: "Store: delivered" }[row.medusaSyncedState];
    return shown ? h("p", { class: "row-note" }, shown) : null;
  }

  function tracking(row) {
    const url = safeUrl(row.trackingUrl);
    const courier = row.courier ? h("span", { class: "sub" }, row.courier) : null;
    if (url) {
      return [
        h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, row.trackingNumber ? `Track ${row.trackingNumber}` : "Track parcel"),
        courier,
      ];
    }
    if (row.trackingNumber) return [h("span", { class: "mono" }, row.trackingNumber), courier];
    return h("span", { class: "muted" }, "—");
  }

  async function retry(row, button) {
    button.disabled = true;
    button.textContent = "Retrying…";
    try {
      await retryOrderSubmission(row.id);
    } catch (error) {
      if (!(error instanceof ApiError && error.isAuthFailure)) {
        toast(`Order ${row.medusaOrderId} could not be retried: ${errorMessage(error)}`, "error");
      }
      if (state.alive) load();
      return;
    }
    toast(`Order ${row.medusaOrderId} is queued to be sent to Qikink again.`);
    if (state.alive) {
      heading.focus();
      load();
    }
  }

  async function refresh() {
    if (refreshButton.getAttribute("aria-busy") === "true") return;
    refreshButton.setAttribute("aria-busy", "true");
    refreshButton.disabled = true;
    refreshLabel.textContent = "Refreshing…";
    progress.hidden = false;
    progressText.textContent = "Refreshing statuses from Qikink…";
    try {
      const result = await refreshOrderMappings();
      if (!state.alive) return;
      toast(refreshMessage(result));
      progressText.textContent = "Statuses refreshed.";
    } catch (error) {
      if (!state.alive) return;
      progressText.textContent = "";
      if (!(error instanceof ApiError && error.isAuthFailure)) {
        toast(`Status refresh failed: ${errorMessage(error)}`, "error");
      }
    } finally {
      if (state.alive) {
        refreshButton.removeAttribute("aria-busy");
        refreshButton.disabled = false;
        refreshLabel.textContent = "Refresh status";
        progress.hidden = true;
      }
    }
    if (state.alive) load();
  }

  // The list at once, then the statuses brought up to date from Qikink, then the list again.
  load();
  refresh();

  return {
    focus: () => heading.focus(),
    unmount() {
      state.alive = false;
      clearTimeout(state.pollTimer);
    },
  };
}

export function refreshMessage({ updated, processed, totalEligible, limit }) {
  if (totalEligible === 0) return "Statuses refreshed: no open orders to check (0 updated of 0 processed).";
  let message = `Statuses refreshed: ${updated} updated of ${processed} processed.`;
  const waiting = Math.min(totalEligible, limit) - processed;
  if (waiting > 0) message += ` ${waiting} more will be checked on the next refresh.`;
  return message;
}
