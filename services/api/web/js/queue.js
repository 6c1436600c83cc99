// The queue: its counts by state (Bull's view), its jobs by state with
// paging, and the operator's commands: pause, resume, retry failed, clean.

import { el, formatCount, formatDateTime } from "./format.js";

const pageSize = 20;
const countNames = ["waiting", "active", "completed", "failed", "delayed"];

/**
 * createQueueView renders the queue section. act(label, fn) runs a command
 * and reports its outcome; confirm asks before a destructive one.
 */
export function createQueueView({ api, act, confirm }) {
  const $ = (id) => document.getElementById(id);
  let page = 0;
  let total = 0;

  async function refreshCounts() {
    const st = await api.get("/queue/status");
    const items = countNames.map((name) =>
      el("div", {}, el("dt", {}, name), el("dd", { className: "num" }, formatCount(st[name]))),
    );
    items.push(el("div", {}, el("dt", {}, "consumption"), el("dd", {}, st.paused ? "paused" : "running")));
    $("queue-counts").replaceChildren(...items);
    $("queue-pause").disabled = st.paused;
    $("queue-resume").disabled = !st.paused;
  }

  async function refreshJobs() {
    const type = $("jobs-type").value;
    const start = page * pageSize;
    const res = await api.get("/queue/jobs", { types: type, start, end: start + pageSize - 1 });
    total = res.total;
    $("jobs-table").tBodies[0].replaceChildren(...res.jobs.map(jobRow));
    if (res.jobs.length === 0) {
      $("jobs-table").tBodies[0].append(el("tr", {}, el("td", { colSpan: 6, className: "muted" }, `no ${type} jobs`)));
    }
    const pages = Math.max(1, Math.ceil(total / pageSize));
    $("jobs-page").textContent = `page ${page + 1} of ${formatCount(pages)} · ${formatCount(total)} jobs`;
    $("jobs-prev").disabled = page === 0;
    $("jobs-next").disabled = page + 1 >= pages;
  }

  /** refresh reloads the counts and the jobs shown. */
  function refresh() {
    return Promise.all([refreshCounts(), refreshJobs()]);
  }

  $("jobs-type").addEventListener("change", () => {
    page = 0;
    refreshJobs().catch(() => {});
  });
  $("jobs-refresh").addEventListener("click", () => act("Refresh", refresh));
  $("jobs-prev").addEventListener("click", () => {
    page = Math.max(0, page - 1);
    act("Jobs", refreshJobs);
  });
  $("jobs-next").addEventListener("click", () => {
    page += 1;
    act("Jobs", refreshJobs);
  });
  $("queue-pause").addEventListener("click", () =>
    act("Pause", async () => {
      await api.post("/queue/pause");
      await refreshCounts();
      return "Queue paused: no processor takes new orders.";
    }),
  );
  $("queue-resume").addEventListener("click", () =>
    act("Resume", async () => {
      await api.post("/queue/resume");
      await refreshCounts();
      return "Queue resumed.";
    }),
  );
  $("queue-retry").addEventListener("click", async () => {
    const ok = await confirm({
      title: "Retry failed orders?",
      message: "Every failed order is published again and processed anew.",
      confirmLabel: "Retry failed",
    });
    if (!ok) return;
    act("Retry", async () => {
      const res = await api.post("/queue/retry-failed");
      await refresh();
      return `${formatCount(res.retried)} failed orders published again.`;
    });
  });
  $("queue-clean").addEventListener("click", async () => {
    const state = $("clean-state").value;
    const ok = await confirm({
      title: `Clean ${state} jobs?`,
      message: `Up to 1 000 ${state} jobs, oldest first, are removed from the queue (processed orders stay in MongoDB).`,
      confirmLabel: `Clean ${state}`,
    });
    if (!ok) return;
    act("Clean", async () => {
      const res = await api.post("/queue/clean", { state, limit: 1000 });
      await refresh();
      return `${formatCount(res.removed)} ${res.state} jobs removed.`;
    });
  });

  return { refresh, refreshCounts };
}

function jobRow(job) {
  const priority = job.data?.priority ?? "—";
  const finished = job.finishedOn ?? job.processedOn ?? job.timestamp;
  return el(
    "tr",
    {},
    el("td", { className: "num" }, job.id.slice(0, 8)),
    el("td", {}, job.state),
    el("td", {}, priority),
    el("td", {}, finished ? formatDateTime(finished) : "—"),
    el("td", { className: "num" }, String(job.attemptsMade)),
    el("td", { className: "reason" }, job.failedReason ?? ""),
  );
}
