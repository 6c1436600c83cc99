// The dashboard's entry point: wires the API client, the live feed and the
// views. Every URL is relative to the page, so it works under any prefix.

import { apiBase, createApi } from "./api.js";
import { createControls } from "./controls.js";
import { askKey, confirmAction } from "./dialogs.js";
import { createKeyStore } from "./keys.js";
import { connectLive } from "./live.js";
import { createLogsView } from "./logs.js";
import { createQueueView } from "./queue.js";
import { createRunView, isActive } from "./run.js";
import { createRunsView } from "./runs.js";

const connectionText = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};
const noticeTime = 8000;
const queueRefreshInterval = 2000;

const base = apiBase(location.href);
const keys = createKeyStore(localStorage, location.pathname);
const api = createApi({ base, keys, askKey });
const act = createActions(document.getElementById("notice"));
const run = createRunView();
const queue = createQueueView({ api, act, confirm: confirmAction });
const logs = createLogsView({ api });
const runs = createRunsView({ api, act });
const controls = createControls({ api, act, confirm: confirmAction, changed: refreshAll });
let connection = "connecting";
let queueRefreshedAt = 0;
let statusRunId; // the run of the last status read
let lastPhase = null; // the last phase event received: {runId, at}

/**
 * refreshStatus reads GET /pedidos. Its phase counts unless live phase
 * events of that same run do: when the run differs, the status is the
 * newer news (say, a reset deleted the run of a phase event replayed on
 * connect) — unless it is older than the last phase event.
 */
async function refreshStatus() {
  const st = await api.get("");
  if (isStale(st)) return;
  statusRunId = st.runId;
  run.showStatus(st, { withPhase: connection !== "connected" || st.runId !== run.runId });
  controls.update(run.phase);
}

/**
 * isStale reports whether a status, read while the live feed is open, is
 * about an earlier run than the last phase event: the api that answered (or
 * its view of the run state) had not caught up with that event yet, as just
 * after a generate. Shown, it would take the page back to that older run.
 */
function isStale(st) {
  if (connection !== "connected" || !lastPhase || (st.runId || null) === lastPhase.runId) return false;
  const started = st.timeline?.[0]?.at;
  return !started || Date.parse(started) < Date.parse(lastPhase.at);
}

/** refreshAll reads every view again, as after a command. */
async function refreshAll() {
  await Promise.allSettled([refreshStatus(), queue.refresh(), runs.load(), logs.load()]);
}

/** refreshQueueCounts reads the queue's counts at most every two seconds. */
function refreshQueueCounts() {
  const now = Date.now();
  if (now - queueRefreshedAt < queueRefreshInterval) return;
  queueRefreshedAt = now;
  queue.refreshCounts().catch(() => {});
}

connectLive(`${base}/events`, {
  phase(ev) {
    lastPhase = { runId: ev.runId || null, at: ev.at };
    run.showPhase(ev);
    controls.update(ev.phase);
    if (!isActive(ev.phase)) Promise.allSettled([refreshStatus(), queue.refresh(), runs.load()]);
    else if (ev.runId !== statusRunId) refreshStatus().catch(() => {});
    else refreshQueueCounts();
  },
  progress(st) {
    statusRunId = st.runId;
    run.showStatus(st);
    refreshQueueCounts();
  },
  log: logs.append,
  state(state) {
    connection = state;
    const node = document.getElementById("connection");
    node.dataset.state = state;
    node.textContent = connectionText[state];
  },
  poll: refreshStatus,
});

const forget = document.getElementById("forget-key");
keys.onChange((hasKey) => {
  forget.hidden = !hasKey;
});
forget.addEventListener("click", () => {
  keys.forget();
  act("Key", async () => "API key forgotten: it will be asked for again.");
});

refreshAll();

/**
 * createActions returns act(label, fn): it runs fn and shows the message
 * it resolves to, or its error, in the notice area.
 */
function createActions(notice) {
  let timer = 0;
  const show = (text, isError) => {
    clearTimeout(timer);
    notice.textContent = text;
    notice.classList.toggle("error", isError);
    timer = setTimeout(() => {
      notice.textContent = "";
    }, noticeTime);
  };
  return async (label, fn) => {
    try {
      const message = await fn();
      if (message) show(message, false);
    } catch (err) {
      show(`${label}: ${err.message}`, true);
    }
  };
}
