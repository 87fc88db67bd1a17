// "Qikink Orders": the order mappings, a status refresh on open and on demand, and a retry for
// submissions Qikink refused.

import {
  ApiError,
  listOrderMappings,
  refreshOrderMappings,
  retryOrderSubmission,
  searchOrderMappings,
} from "./api.js";
import { cell, mountList } from "./list.js";
import { STATUSES, errorMessage, h, safeUrl, statusBadge, statusLabel, time, toast } from "./ui.js";

// While a listed order is waiting for the worker, look again every so often, a bounded number
// of times, so a retried order is seen leaving PENDING without anyone reloading.
const PENDING_POLL_MS = 1500;
const PENDING_POLL_MAX = 40;

export function mountOrders(main) {
  let status = "";

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

  const list = mountList(main, {
    id: "orders-heading",
    title: "Qikink Orders",
    intro: "Store orders and the Qikink orders made for them.",
    action: refreshButton,
    notices: [progress, progressText],
    filters: h("div", { class: "field" }, h("label", { for: "order-status" }, "Status"), statusSelect),
    toolbarLabel: "Filter orders",
    search: {
      id: "order-search",
      label: "Search by order id",
      placeholder: "#1042, order_01J… or 4518823",
      hint: "The store order's number (with or without #), its id, or the Qikink order id, exactly.",
    },
    noun: "orders",
    fetchPage: ({ limit, offset }) => listOrderMappings({ status: status || null, limit, offset }),
    fetchSearch: (text) => searchOrderMappings(text, status || null),
    table: {
      class: "orders",
      caption: "Qikink order mappings",
      columns: ["Store order", "Qikink order", "Status", "Qikink status", "Tracking", "Created", "Actions"],
      row: orderRow,
    },
    pagerLabel: "Order pages",
    empty: emptyState,
    poll: {
      when: (rows) => rows.some((row) => row.status === "PENDING"),
      everyMs: PENDING_POLL_MS,
      times: PENDING_POLL_MAX,
    },
  });

  statusSelect.addEventListener("change", () => {
    status = statusSelect.value;
    list.reload();
  });

  function emptyState(search) {
    if (search) {
      return h("p", { class: "empty" }, `No order has the number or id “${search}”.`);
    }
    if (status) return h("p", { class: "empty" }, "No order has this status.");
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
      cell(
        "Store order",
        row.medusaDisplayId ? h("span", { class: "display-id" }, `#${row.medusaDisplayId}`) : null,
        h("span", { class: row.medusaDisplayId ? "mono sub" : "mono" }, row.medusaOrderId),
      ),
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
      if (list.alive) list.load();
      return;
    }
    toast(`Order ${row.medusaOrderId} is queued to be sent to Qikink again.`);
    if (list.alive) {
      list.heading.focus();
      list.load();
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
      if (!list.alive) return;
      toast(refreshMessage(result));
      progressText.textContent = "Statuses refreshed.";
    } catch (error) {
      if (!list.alive) return;
      progressText.textContent = "";
      if (!(error instanceof ApiError && error.isAuthFailure)) {
        toast(`Status refresh failed: ${errorMessage(error)}`, "error");
      }
    } finally {
      if (list.alive) {
        refreshButton.removeAttribute("aria-busy");
        refreshButton.disabled = false;
        refreshLabel.textContent = "Refresh status";
        progress.hidden = true;
      }
    }
    if (list.alive) list.load();
  }

  // The list at once, then the statuses brought up to date from Qikink, then the list again.
  list.load();
  refresh();

  return list;
}

// At most this many status changes are named in the toast; the list shows the rest.
const CHANGES_NAMED = 3;

export function refreshMessage({ updated, processed, totalEligible, limit, changes = [] }) {
  if (totalEligible === 0) return "Statuses refreshed: no open orders to check (0 updated of 0 processed).";
  let message = `Statuses refreshed: ${updated} updated of ${processed} processed.`;
  if (changes.length) {
    const named = changes.slice(0, CHANGES_NAMED).map(({ previousStatus, mapping }) => {
      const order = mapping.medusaDisplayId ? `#${mapping.medusaDisplayId}` : mapping.medusaOrderId;
      return `${order} ${statusLabel(previousStatus)} → ${statusLabel(mapping.status)}`;
    });
    const more = changes.length - named.length;
    message += ` ${named.join("; ")}${more > 0 ? ` and ${more} more` : ""}.`;
  }
  const waiting = Math.min(totalEligible, limit) - processed;
  if (waiting > 0) message += ` ${waiting} more will be checked on the next refresh.`;
  return message;
}
