// Modal dialogs (<dialog>): the confirmation every destructive action asks
// for, and the API key prompt. Each resolves when the dialog closes; Escape
// cancels.

/**
 * confirmAction opens the confirmation dialog and resolves to the values of
 * its options ({name: checked}) when confirmed, or null when cancelled.
 * options are checkboxes: [{name, label, checked}].
 */
export function confirmAction({ title, message, confirmLabel, options = [] }) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-message").textContent = message;
  document.getElementById("confirm-ok").textContent = confirmLabel;
  const boxes = options.map(({ name, label, checked }) => {
    const box = Object.assign(document.createElement("input"), { type: "checkbox", name, checked: Boolean(checked) });
    const row = document.createElement("label");
    row.append(box, label);
    return { name, box, row };
  });
  document.getElementById("confirm-options").replaceChildren(...boxes.map((b) => b.row));
  return open(dialog, document.getElementById("confirm-cancel")).then((value) =>
    value === "confirm" ? Object.fromEntries(boxes.map((b) => [b.name, b.box.checked])) : null,
  );
}

/** askKey opens the API key dialog and resolves to the key typed, or null. */
export function askKey() {
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("api-key");
  input.value = "";
  return open(dialog, input).then((value) => (value === "save" && input.value.trim() !== "" ? input.value.trim() : null));
}

/**
 * open shows dialog modally, focuses focus, and resolves to its return
 * value once closed: the value of the submit button pressed, "" otherwise.
 * Its [data-dismiss] button closes it, as Escape does.
 */
function open(dialog, focus) {
  const dismiss = dialog.querySelector("[data-dismiss]");
  const onDismiss = () => dialog.close("");
  dismiss.addEventListener("click", onDismiss);
  dialog.returnValue = "";
  dialog.showModal();
  focus.focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        dismiss.removeEventListener("click", onDismiss);
        resolve(dialog.returnValue);
      },
      { once: true },
    );
  });
}
