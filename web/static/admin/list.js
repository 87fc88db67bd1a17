// A list page (the orders, the variant mappings): its frame, the search toolbar, paged loading
// where a late answer never overwrites a newer one, the table, the pager and load errors.

import { ApiError } from "./api.js";
import { errorMessage, h } from "./ui.js";

const PAGE_SIZE = 20;

/**
 * Mount a list page into `main` and return it: `load()` shows the current page again,
 * `reload()` goes back to the first page (after a filter changed), `heading`, `alive`, and
 * the router's `focus()` and `unmount()`. Nothing is loaded until the caller's first `load()`.
 *
 * - `id`, `title`, `intro`: the heading's id and text, and the line below it.
 * - `action`: the button at the head of the page; `notices`: nodes between the head and the
 *   toolbar; `filters`: toolbar fields before the search field.
 * - `search`: { id, label, placeholder, hint } of the search field; `toolbarLabel` names the
 *   toolbar. A search shows every exact match of the text, unpaged.
 * - `noun`: what the rows are, plural ("orders"), for the summary and the load error.
 * - `fetchPage({ limit, offset })` resolves to { nodes, count }; `fetchSearch(text)` to rows.
 * - `table`: { class, caption, columns, row } where `row(node)` makes a <tr>; `pagerLabel`.
 * - `empty(search)`: what to show when there is no row.
 * - `stepBack`: when a page past the first comes back empty (its last row went away), show the
 *   page before it.
 * - `poll`: { when(rows), everyMs, times }: while `when(rows)`, load again quietly every
 *   `everyMs`, at most `times` times in a row.
 */
export function mountList(main, options) {
  const { search: field, poll } = options;
  const state = { search: "", offset: 0, loadSeq: 0, polls: 0, pollTimer: null, alive: true };

  const heading = h("h1", { id: options.id, tabindex: "-1" }, options.title);
  const searchInput = h("input", {
    id: field.id,
    name: "q",
    type: "search",
    placeholder: field.placeholder,
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": `${field.id}-hint`,
  });
  const clearButton = h("button", { type: "button", class: "button subtle", hidden: true }, "Clear");
  const toolbar = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": options.toolbarLabel },
    options.filters,
    h(
      "div",
      { class: "field grow" },
      h("label", { for: field.id }, field.label),
      searchInput,
      h("p", { id: `${field.id}-hint`, class: "hint" }, field.hint),
    ),
    h("div", { class: "toolbar-actions" }, h("button", { type: "submit", class: "button" }, "Search"), clearButton),
  );
  const summary = h("p", { class: "summary", "aria-live": "polite" });
  const results = h("div", { class: "results" });

  main.replaceChildren(
    h(
      "section",
      { class: "page", "aria-labelledby": options.id },
      h(
        "div",
        { class: "page-head" },
        h("div", {}, heading, h("p", { class: "muted" }, options.intro)),
        options.action,
      ),
      options.notices,
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

  async function load({ quiet = false } = {}) {
    clearTimeout(state.pollTimer);
    if (!quiet) state.polls = 0;
    const seq = ++state.loadSeq;
    results.setAttribute("aria-busy", "true");
    let rows;
    let count;
    try {
      if (state.search) {
        rows = await options.fetchSearch(state.search);
        count = rows.length;
      } else {
        const page = await options.fetchPage({ limit: PAGE_SIZE, offset: state.offset });
        rows = page.nodes;
        count = page.count;
        // A page emptied (by a delete) steps back, unless a newer load has begun meanwhile.
        if (options.stepBack && rows.length === 0 && state.offset > 0 && seq === state.loadSeq && state.alive) {
          state.offset = Math.max(0, state.offset - PAGE_SIZE);
          return load();
        }
      }
    } catch (error) {
      if (seq !== state.loadSeq || !state.alive) return;
      results.removeAttribute("aria-busy");
      if (error instanceof ApiError && error.isAuthFailure) return;
      summary.textContent = "";
      replaceKeepingFocus(
        results,
        h("p", { class: "notice error", role: "alert" }, `The ${options.noun} could not be loaded: ${errorMessage(error)}`),
      );
      return;
    }
    if (seq !== state.loadSeq || !state.alive) return;
    results.removeAttribute("aria-busy");
    render(rows, count);
    if (poll?.when(rows) && state.polls < poll.times) {
      state.polls += 1;
      state.pollTimer = setTimeout(() => load({ quiet: true }), poll.everyMs);
    }
  }

  function render(rows, count) {
    const offset = state.search ? 0 : state.offset;
    summary.textContent = summaryText({ count, offset, shown: rows.length, noun: options.noun });
    if (rows.length === 0) {
      replaceKeepingFocus(results, options.empty(state.search));
      return;
    }
    const { table } = options;
    replaceKeepingFocus(
      results,
      h(
        "table",
        { class: `table ${table.class}` },
        h("caption", { class: "visually-hidden" }, table.caption),
        h("thead", {}, h("tr", {}, table.columns.map((name) => h("th", { scope: "col" }, name)))),
        h("tbody", {}, rows.map(table.row)),
      ),
      state.search
        ? null
        : pager({
            count,
            limit: PAGE_SIZE,
            offset: state.offset,
            label: options.pagerLabel,
            onPage: (offset) => {
              state.offset = Math.max(0, offset);
              load();
            },
          }),
    );
  }

  return {
    heading,
    get alive() {
      return state.alive;
    },
    load: () => load(),
    reload() {
      state.offset = 0;
      load();
    },
    focus: () => heading.focus(),
    unmount() {
      state.alive = false;
      clearTimeout(state.pollTimer);
    },
  };
}

/**
 * Replace `container`'s content with `nodes`, putting keyboard focus back on the element with
 * the same data-focus-key, so a re-render (a poll, a reload) never throws the user's place away.
 */
export function replaceKeepingFocus(container, ...nodes) {
  const active = document.activeElement;
  const key = container.contains(active) ? active?.dataset?.focusKey : null;
  container.replaceChildren(...nodes.filter((node) => node != null));
  if (key) container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

/** "Previous · Page 2 of 5 · Next" for a list of `count` items shown `limit` at a time. */
export function pager({ count, limit, offset, label, onPage }) {
  if (count <= limit) return null;
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.ceil(count / limit);
  return h(
    "nav",
    { class: "pager", "aria-label": label },
    h(
      "button",
      { type: "button", class: "button", disabled: page <= 1, dataset: { focusKey: "pager-prev" }, onclick: () => onPage(offset - limit) },
      "Previous",
    ),
    h("span", { class: "pager-position" }, `Page ${page} of ${pages}`),
    h(
      "button",
      { type: "button", class: "button", disabled: page >= pages, dataset: { focusKey: "pager-next" }, onclick: () => onPage(offset + limit) },
      "Next",
    ),
  );
}

/** "Showing 21–40 of 57 orders" */
export function summaryText({ count, offset, shown, noun }) {
  if (count === 0) return `No ${noun}.`;
  if (shown === count) return `${count} ${count === 1 ? noun.replace(/s$/, "") : noun}.`;
  return `Showing ${offset + 1}–${offset + shown} of ${count} ${noun}.`;
}

/** One table cell that carries its column name, shown as a label in the phone layout. */
export function cell(label, ...children) {
  // One wrapper, so the phone layout's two-column grid sees one label and one value.
  return h("td", { "data-label": label }, h("div", { class: "cell" }, ...children));
}
