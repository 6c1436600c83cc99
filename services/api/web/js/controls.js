// The run's commands: generate (with a validated quantity), cancel and
// reset. Cancel and reset are confirmed first.

import { formatCount } from "./format.js";
import { isActive } from "./run.js";

/**
 * createControls wires the run's buttons. act(label, fn) runs a command
 * and reports its outcome; confirm asks first; changed() is called after a
 * command took effect.
 */
export function createControls({ api, act, confirm, changed }) {
  const $ = (id) => document.getElementById(id);
  const quantity = $("quantity");
  let active = false;

  /** readQuantity returns the quantity typed, or null after saying what is wrong with it. */
  function readQuantity() {
    const max = Number(quantity.max);
    const text = quantity.value.trim();
    const n = Number(text);
    let problem = "";
    if (!/^\d+$/.test(text)) problem = "Type a whole number of orders.";
    else if (n < 1 || n > max) problem = `Type a number from 1 to ${formatCount(max)}.`;
    $("quantity-error").textContent = problem;
    quantity.setAttribute("aria-invalid", String(problem !== ""));
    if (problem) {
      quantity.focus();
      return null;
    }
    return n;
  }

  $("generate-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const n = readQuantity();
    if (n === null) return;
    act("Generate", async () => {
      const res = await api.post("/generate", { quantity: n });
      await changed();
      return res.message;
    });
  });

  $("cancel").addEventListener("click", async () => {
    const choice = await confirm({
      title: "Cancel the run?",
      message: "Processing stops at once: no order is processed after the answer. The run ends ABORTED.",
      confirmLabel: "Cancel run",
      options: [
        { name: "purge", label: "Delete the orders still pending in JetStream", checked: true },
        { name: "removePending", label: "Remove the waiting jobs from the queue", checked: true },
      ],
    });
    if (!choice) return;
    act("Cancel", async () => {
      const res = await api.post("/cancel", choice);
      await changed();
      return res.message;
    });
  });

  $("reset").addEventListener("click", async () => {
    const choice = await confirm({
      title: "Reset everything?",
      message: "Deletes every order, run report, queue job, counter and log line. This cannot be undone.",
      confirmLabel: "Reset",
      options: active ? [{ name: "force", label: "Cancel the run in progress first", checked: false }] : [],
    });
    if (!choice) return;
    act("Reset", async () => {
      const res = await api.post("/reset", choice);
      await changed();
      return res.message;
    });
  });

  return {
    /** update enables the buttons that make sense in phase. */
    update(phase) {
      active = isActive(phase);
      $("generate").disabled = active;
      $("cancel").disabled = !active;
    },
  };
}
