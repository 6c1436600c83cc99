// The history of runs (GET /pedidos/runs), newest first, a page at a time,
// with a chart of their durations.

import { durationsChart } from "./chart.js";
import { el, formatCount, formatDateTime, formatDuration } from "./format.js";

const pageSize = 10;

/** createRunsView renders the runs section. act runs a request and reports its failure. */
export function createRunsView({ api, act }) {
  const $ = (id) => document.getElementById(id);
  const chart = durationsChart($("durations-chart"));
  let page = 1;

  /** load shows the current page again. */
  async function load() {
    const res = await api.get("/runs", { limit: pageSize, page });
    $("runs-table").tBodies[0].replaceChildren(...res.runs.map(runRow));
    if (res.runs.length === 0) {
      $("runs-table").tBodies[0].append(el("tr", {}, el("td", { colSpan: 8, className: "muted" }, "no finished run yet")));
    }
    chart.show(res.runs);
    const pages = Math.max(1, Math.ceil(res.total / pageSize));
    $("runs-page").textContent = `page ${page} of ${formatCount(pages)} · ${formatCount(res.total)} runs`;
    $("runs-prev").disabled = page <= 1;
    $("runs-next").disabled = page >= pages;
  }

  $("runs-prev").addEventListener("click", () => {
    page = Math.max(1, page - 1);
    act("Runs", load);
  });
  $("runs-next").addEventListener("click", () => {
    page += 1;
    act("Runs", load);
  });
  return { load };
}

function runRow(r) {
  const num = (text) => el("td", { className: "num" }, text);
  return el(
    "tr",
    { title: `run ${r.runId}` },
    el("td", {}, formatDateTime(r.createdAt)),
    el("td", {}, r.status),
    num(formatCount(r.quantity)),
    num(formatDuration(r.totalTimeMs)),
    num(formatDuration(r.processingTimeVIPMs)),
    num(formatDuration(r.processingTimeNormalMs)),
    num(formatCount(r.throughput)),
    num(formatCount(r.priorityAudit.inversions)),
  );
}
