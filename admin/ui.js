// Small DOM helpers shared by the pages. Data only ever reaches the DOM as text nodes or
// attribute values (never through innerHTML), and links only with an http(s) URL.

import { ApiError } from "./api.js";

/** Build an element: h("p", { class: "muted" }, "text", child). Strings become text nodes. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (name.startsWith("on")) {
      if (typeof value !== "function") throw new TypeError(`${name} must be a function`);
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

let nextId = 0;
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** An http(s) URL as given, or null for anything else (javascript:, data:, garbage). */
export function safeUrl(text) {
  if (!text) return null;
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A <time> element for an ISO timestamp, in the reader's locale and time zone. */
export function time(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h("span", {}, iso);
  return h("time", { datetime: iso, title: date.toISOString() }, dateFormat.format(date));
}

export const STATUSES = [
  ["PENDING", "Pending"],
  ["SUBMITTED", "Submitted"],
  ["IN_PRODUCTION", "In production"],
  ["SHIPPED", "Shipped"],
  ["COMPLETED", "Completed"],
  ["CANCELED", "Canceled"],
  ["RETURNED", "Returned"],
  ["FAILED", "Failed"],
];
const STATUS_LABELS = new Map(STATUSES);

export function statusLabel(status) {
  return STATUS_LABELS.get(status) ?? status;
}

export function statusBadge(status) {
  return h("span", { class: "badge", dataset: { status } }, statusLabel(status));
}

export function errorMessage(error) {
  return error instanceof ApiError ? error.message : "Something went wrong in the page. Reload and try again.";
}

// -- toasts ---------------------------------------------------------------------------------

const TOAST_MS = { success: 5000, info: 5000, error: 9000 };

/** Show a short message in the polite live region; errors are alerts and stay longer. */
export function toast(message, kind = "success") {
  const region = document.getElementById("toasts");
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const item = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null },
    h("span", { class: "toast-text" }, message),
    close,
  );
  const remove = () => item.remove();
  close.addEventListener("click", remove);
  region.append(item);
  setTimeout(remove, TOAST_MS[kind] ?? 5000);
  return item;
}
