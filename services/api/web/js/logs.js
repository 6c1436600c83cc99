// The log tail: the last lines of the services' log files (GET
// /pedidos/logs, its structured entries), then every WARN and ERROR line as
// it is logged (the event stream's log events), filtered by level.

import { el, formatClock } from "./format.js";

const initialLines = 200;
const maxLines = 500;
const levels = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };

/** createLogsView renders the logs section. */
export function createLogsView({ api }) {
  const list = document.getElementById("log-lines");
  const level = document.getElementById("log-level");
  const note = document.getElementById("logs-note");
  let lines = [];

  const visible = (line) => (levels[line.level] ?? levels.INFO) >= levels[level.value];
  const lineItem = (l) =>
    el("li", { className: `level-${l.level}` }, `${formatClock(l.time)} ${l.level.padEnd(5)} ${l.process} ${l.msg}`);

  function render() {
    const shown = lines.filter(visible);
    list.replaceChildren(...shown.map(lineItem));
    if (shown.length === 0) list.append(el("li", { className: "empty" }, "no log lines"));
    list.scrollTop = list.scrollHeight;
  }

  /** load reads the tail of the log files again. */
  async function load() {
    const res = await api.get("/logs", { lines: initialLines });
    const tail = res.logs;
    note.textContent = tail.enabled ? "Live: warnings and errors as they are logged." : tail.message;
    const { logMessages, warnMessages, errorMessages } = tail.entries;
    lines = [...logMessages, ...warnMessages, ...errorMessages]
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
      .slice(-maxLines);
    render();
  }

  /** append adds a line logged just now. */
  function append(line) {
    lines.push(line);
    if (lines.length > maxLines && visible(lines.shift())) list.firstElementChild?.remove();
    if (!visible(line)) return;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
    list.querySelector(".empty")?.remove();
    list.append(lineItem(line));
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  level.addEventListener("change", render);
  return { load, append };
}
