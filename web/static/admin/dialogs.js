// Modal dialogs of the pages: a form, and a yes/no question. Each runs its action while
// busy, shows the error it gives, and closes on success.

import { ApiError } from "./api.js";
import { errorMessage, h, uid } from "./ui.js";

function openModal(dialog, initialFocus) {
  const opener = document.activeElement;
  document.body.append(dialog);
  dialog.showModal();
  initialFocus?.focus();
  dialog.addEventListener("close", () => {
    dialog.remove();
    // Back to where the user was; the opener may have been re-rendered away.
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  });
}

function setBusy(dialog, busy, submit, busyLabel, idleLabel) {
  dialog.dataset.busy = busy ? "true" : "";
  submit.disabled = busy;
  submit.textContent = busy ? busyLabel : idleLabel;
  dialog.querySelector("form")?.setAttribute("aria-busy", String(busy));
}

/**
 * Open `dialog` as a modal whose form runs `run()` on submit, busy meanwhile: success closes
 * it; an auth failure closes it too (the sign-in screen takes over); any other error goes to
 * `fail(error)` and the dialog stays open. `check()` may stop a submit before it starts.
 * Cancel and Escape close it, except while busy. Resolves to run's result, or null.
 */
function modalAction({ dialog, submit, cancel, submitLabel, busyLabel, initialFocus, check = () => true, run, fail }) {
  const form = dialog.querySelector("form");
  let result = null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (dialog.dataset.busy || !check()) return;
    setBusy(dialog, true, submit, busyLabel, submitLabel);
    try {
      result = await run();
    } catch (error) {
      setBusy(dialog, false, submit, busyLabel, submitLabel);
      if (error instanceof ApiError && error.isAuthFailure) {
        dialog.close();
        return;
      }
      fail(error);
      return;
    }
    dialog.close();
  });
  cancel.addEventListener("click", () => {
    // While busy the change may still land: the dialog stays to say how it went.
    if (!dialog.dataset.busy) dialog.close();
  });
  dialog.addEventListener("cancel", (event) => {
    if (dialog.dataset.busy) event.preventDefault();
  });
  const closed = new Promise((resolve) => dialog.addEventListener("close", () => resolve(result)));
  openModal(dialog, initialFocus);
  return closed;
}

/**
 * A modal form. `fields`: [{ name, label, value, hint, maxlength, required, autofocus }].
 * `onSubmit(values)` runs the change; an ApiError it throws is shown in the dialog (next to
 * its field when the service names one) and the dialog stays open. Resolves to onSubmit's
 * result, or null when cancelled.
 */
export function formDialog({ title, description, fields, submitLabel, busyLabel = "Saving…", onSubmit }) {
  const titleId = uid("dialog-title");
  const generalError = h("p", { class: "form-error", role: "alert", hidden: true });
  const inputs = new Map();
  const fieldErrors = new Map();
  const rows = fields.map((field) => {
    const id = uid(`field-${field.name}`);
    const hintId = field.hint ? `${id}-hint` : null;
    const errorId = `${id}-error`;
    const input = h("input", {
      id,
      name: field.name,
      type: "text",
      value: field.value ?? "",
      required: field.required !== false,
      maxlength: field.maxlength,
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
    });
    const error = h("p", { id: errorId, class: "field-error", role: "alert", hidden: true });
    inputs.set(field.name, input);
    fieldErrors.set(field.name, error);
    return h(
      "div",
      { class: "field" },
      h("label", { for: id }, field.label),
      input,
      field.hint ? h("p", { id: hintId, class: "hint" }, field.hint) : null,
      error,
    );
  });
  const cancel = h("button", { type: "button", class: "button" }, "Cancel");
  const submit = h("button", { type: "submit", class: "button primary" }, submitLabel);
  const form = h(
    "form",
    { novalidate: true },
    h("h2", { id: titleId }, title),
    description ? h("p", { class: "muted" }, description) : null,
    rows,
    generalError,
    h("div", { class: "dialog-actions" }, cancel, submit),
  );
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId }, form);
  let values = {};

  const clearErrors = () => {
    generalError.hidden = true;
    for (const [name, error] of fieldErrors) {
      error.hidden = true;
      error.textContent = "";
      inputs.get(name).removeAttribute("aria-invalid");
    }
  };
  // Said once: by the field it is about (the service names it for a conflict or a bad
  // value), or in the box above the buttons when it concerns no one field.
  const showError = (message, fieldName) => {
    const input = inputs.get(fieldName);
    if (input) {
      const error = fieldErrors.get(fieldName);
      error.textContent = message;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    } else {
      generalError.textContent = message;
      generalError.hidden = false;
      submit.focus();
    }
  };
  const check = () => {
    clearErrors();
    values = {};
    for (const field of fields) {
      const value = inputs.get(field.name).value.trim();
      if (!value && field.required !== false) {
        showError(`${field.label} is required.`, field.name);
        return false;
      }
      values[field.name] = value;
    }
    return true;
  };

  const first = fields.find((f) => f.autofocus) ?? fields.find((f) => !f.value) ?? fields[0];
  const closed = modalAction({
    dialog,
    submit,
    cancel,
    submitLabel,
    busyLabel,
    initialFocus: inputs.get(first.name),
    check,
    run: () => onSubmit(values),
    fail: (error) => {
      // A form edits a mutation's `input`: the service names its fields `input.<name>`.
      const field = error instanceof ApiError ? error.field?.replace(/^input\./, "") : null;
      showError(errorMessage(error), field);
    },
  });
  inputs.get(first.name).select();
  return closed;
}

/**
 * A modal yes/no question. `onConfirm()` runs the action; its ApiError is shown in the dialog.
 * Focus starts on Cancel, so Enter alone never destroys anything. Resolves true once done.
 */
export function confirmDialog({ title, message, confirmLabel, busyLabel = "Working…", onConfirm }) {
  const titleId = uid("dialog-title");
  const messageId = uid("dialog-message");
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const cancel = h("button", { type: "button", class: "button" }, "Cancel");
  const confirm = h("button", { type: "submit", class: "button danger" }, confirmLabel);
  const form = h(
    "form",
    {},
    h("h2", { id: titleId }, title),
    h("p", { id: messageId }, message),
    error,
    h("div", { class: "dialog-actions" }, cancel, confirm),
  );
  const dialog = h(
    "dialog",
    { class: "dialog", role: "alertdialog", "aria-labelledby": titleId, "aria-describedby": messageId },
    form,
  );
  const done = modalAction({
    dialog,
    submit: confirm,
    cancel,
    submitLabel: confirmLabel,
    busyLabel,
    initialFocus: cancel,
    check: () => {
      error.hidden = true;
      return true;
    },
    run: async () => {
      await onConfirm();
      return true;
    },
    fail: (failure) => {
      error.textContent = errorMessage(failure);
      error.hidden = false;
      confirm.focus();
    },
  });
  return done.then(Boolean);
}
