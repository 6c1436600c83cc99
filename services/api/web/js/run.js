// The run now: phase, time spent in each phase, progress of VIP and NORMAL,
// counters, ETA and the throughput chart.

import { throughputChart } from "./chart.js";
import { el, formatCount, formatDuration, formatRate } from "./format.js";

const activePhases = new Set(["GENERATING", "ENQUEUE_VIP", "WAITING_VIP_DRAIN", "ENQUEUE_NORMAL", "WAITING_NORMAL_DRAIN"]);

/** isActive reports whether phase is one of a run in progress. */
export function isActive(phase) {
  return activePhases.has(phase);
}

/** Share of VIP orders: one tier of four (DIAMANTE) is VIP. */
const vipShare = 0.25;

/** createRunView renders the run section; it returns what the live feed calls. */
export function createRunView() {
  const $ = (id) => document.getElementById(id);
  const chart = throughputChart($("throughput-chart"));
  let runId = null;
  let phase = "IDLE";
  let generated = null; // {vip, normal} once generation is over

  function setRun(id) {
    if (id === runId) return;
    runId = id;
    generated = null;
    chart.clear();
    $("run-id").textContent = id ? `run ${id}` : "";
  }

  function setPhase(p) {
    if (p === phase) return;
    phase = p;
    $("phase").textContent = p;
    $("phase").dataset.phase = p;
  }

  /** showPhase shows a phase event ({runId, phase, counts}). */
  function showPhase(ev) {
    setRun(ev.runId || null);
    setPhase(ev.phase);
    if (ev.phase !== "GENERATING" && ev.counts?.generated) generated = ev.counts.generated;
  }

  /**
   * showStatus shows a status (GET /pedidos or a progress event). Its phase
   * is shown only when asked: phase events are the source of truth, and a
   * status may be older than the last of them.
   */
  function showStatus(st, { withPhase = false } = {}) {
    setRun(st.runId);
    if (withPhase) setPhase(st.phase);
    showTimeline(st);
    showProgress(st);
    showCounters(st);
    if (st.totalTimeMs !== null && isActive(st.phase)) chart.add(st.totalTimeMs / 1000, st.counts);
  }

  function showTimeline(st) {
    const marks = st.timeline;
    const end = marks.length ? Date.parse(marks[0].at) + (st.totalTimeMs ?? 0) : 0;
    const items = marks.map((m, i) => {
      const until = i + 1 < marks.length ? Date.parse(marks[i + 1].at) : end;
      const last = i === marks.length - 1;
      const ms = last && !isActive(m.phase) ? null : Math.max(0, until - Date.parse(m.at));
      const item = el(
        "li",
        { className: last ? "current" : "" },
        el("span", { className: "phase-name" }, ...breakable(m.phase)),
        el("span", { className: "phase-time num" }, ms === null ? "ended" : formatDuration(ms)),
      );
      item.style.flexGrow = String(Math.max(ms ?? 0, 1));
      return item;
    });
    $("timeline").replaceChildren(...items);
  }

  function showProgress(st) {
    const target = st.progress.target;
    const exact = generated !== null;
    const expected = exact ? generated : { vip: target * vipShare, normal: target * (1 - vipShare) };
    for (const p of ["vip", "normal"]) {
      const bar = $(`${p}-progress`);
      const done = st.counts[p] + st.failed[p];
      bar.max = Math.max(expected[p], 1);
      bar.value = Math.min(done, bar.max);
      const of = expected[p] ? ` / ${exact ? "" : "≈"}${formatCount(Math.round(expected[p]))}` : "";
      $(`${p}-progress-text`).textContent = formatCount(done) + of;
    }
  }

  function showCounters(st) {
    const set = (id, value, note = "") => {
      $(id).replaceChildren(formatCount(value), ...(note ? [el("small", {}, note)] : []));
      $(id).dataset.value = String(value);
    };
    set("count-generated", st.progress.generated, ` of ${formatCount(st.progress.target)}`);
    set("count-processed", st.progress.processedTotal, ` ${st.eta.progressPercent}%`);
    set("count-vip", st.counts.vip);
    set("count-normal", st.counts.normal);
    set("count-failed", st.failed.vip + st.failed.normal);
    $("count-rate").textContent = formatRate(st.throughput.overall);
    $("count-elapsed").textContent = formatDuration(st.totalTimeMs);
    $("count-eta").textContent = st.phase === "DONE" ? "done" : formatDuration(st.eta.estimatedMs);
  }

  return {
    showPhase,
    showStatus,
    get runId() {
      return runId;
    },
    get phase() {
      return phase;
    },
  };
}

/** breakable returns a phase name as text with line-break opportunities after its underscores. */
function breakable(name) {
  return name.split(/(?<=_)/).flatMap((part, i) => (i === 0 ? [part] : [document.createElement("wbr"), part]));
}
