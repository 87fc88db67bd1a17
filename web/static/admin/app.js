// The admin shell: sign-in, the two pages behind hash routes (#/orders, #/variants), sign-out.

import { ApiError, onAuthFailure, session, verifyCredential } from "./api.js";
import { mountOrders } from "./orders.js";
import { errorMessage, h, toast } from "./ui.js";
import { mountVariants } from "./variants.js";

const ROUTES = {
  orders: { title: "Qikink Orders", mount: mountOrders },
  variants: { title: "Variant mappings", mount: mountVariants },
};
const DEFAULT_ROUTE = "orders";

const main = document.getElementById("main");
const topbar = document.getElementById("topbar");
const signOutButton = document.getElementById("sign-out");
let current = null;

function routeName() {
  const name = location.hash.replace(/^#\/?/, "");
  return Object.hasOwn(ROUTES, name) ? name : null;
}

function unmount() {
  current?.page.unmount();
  current = null;
}

function show({ moveFocus = true } = {}) {
  if (!session.get()) {
    showSignIn();
    return;
  }
  const name = routeName();
  if (!name) {
    location.replace(`#/${DEFAULT_ROUTE}`);
    return; // the hashchange comes back here
  }
  if (current?.name === name) return;
  unmount();
  topbar.hidden = false;
  for (const link of topbar.querySelectorAll("[data-route]")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${ROUTES[name].title} · Qikink admin`;
  current = { name, page: ROUTES[name].mount(main) };
  if (moveFocus) current.page.focus();
}

function showSignIn({ message = "", kind = "info" } = {}) {
  unmount();
  topbar.hidden = true;
  document.title = "Sign in · Qikink admin";
  const input = h("input", {
    id: "credential",
    name: "credential",
    type: "password",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "credential-hint",
  });
  const feedback = h("p", { id: "signin-feedback", class: kind === "error" ? "form-error" : "notice", role: kind === "error" ? "alert" : "status", hidden: !message }, message);
  const submit = h("button", { type: "submit", class: "button primary wide" }, "Sign in");
  const form = h(
    "form",
    { class: "signin-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "credential" }, "Admin API key or JWT"), input,
      h(
        "p",
        { id: "credential-hint", class: "hint" },
        "An API key from ",
        h("code", {}, "qikink-graphql create-api-key NAME"),
        ", or a Medusa admin's JWT. It is kept in this browser tab only, until you sign out or close it.",
      ),
    ),
    feedback,
    submit,
  );
  main.replaceChildren(
    h(
      "section",
      { class: "signin card", "aria-labelledby": "signin-heading" },
      h("div", { class: "signin-brand", "aria-hidden": "true" }, "Q"),
      h("h1", { id: "signin-heading" }, "Sign in to the Qikink admin"),
      h("p", { class: "muted" }, "Orders sent to Qikink, their status, and the variants printed by Qikink."),
      form,
    ),
  );
  input.focus();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const credential = input.value.trim().replace(/^Bearer\s+/i, "");
    if (!credential) {
      refuse("Enter an admin API key or JWT.");
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    form.setAttribute("aria-busy", "true");
    try {
      await verifyCredential(credential);
    } catch (error) {
      submit.disabled = false;
      submit.textContent = "Sign in";
      form.removeAttribute("aria-busy");
      refuse(refusal(error));
      return;
    }
    session.set(credential);
    show();
  });

  function refuse(text) {
    feedback.className = "form-error";
    feedback.setAttribute("role", "alert");
    feedback.textContent = text;
    feedback.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    input.select();
  }
}

function refusal(error) {
  if (error instanceof ApiError) {
    if (error.code === "UNAUTHENTICATED") return `Sign-in refused: ${error.message}`;
    if (error.code === "FORBIDDEN") return `Sign-in refused: this token is not an admin's. ${error.message}`;
  }
  return `Could not sign in: ${errorMessage(error)}`;
}

onAuthFailure((error) => {
  if (!session.get() && !current) return;
  session.clear();
  showSignIn({ kind: "error", message: `Your session has ended: ${error.message} Sign in again.` });
});

signOutButton.addEventListener("click", () => {
  session.clear();
  showSignIn({ message: "You are signed out." });
  toast("Signed out.", "info");
});

window.addEventListener("hashchange", () => show());
show({ moveFocus: false });
