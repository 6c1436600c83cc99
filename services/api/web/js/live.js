// The live feed: GET /pedidos/events through an EventSource, which
// reconnects by itself (sending Last-Event-ID, so no phase is missed). While
// it is not open, the status is polled instead. The connection state is
// connecting, connected, reconnecting (the EventSource retries) or offline
// (it gave up, or the browser is offline; a new one is opened later).

const pollInterval = 3000;
const reopenDelay = 5000;

/**
 * connectLive follows the events at url. handlers: phase(event),
 * progress(status), log(line), state(name), poll() (a promise; called every
 * few seconds while the stream is not open).
 */
export function connectLive(url, handlers) {
  let source = null;
  let pollTimer = 0;
  let reopenTimer = 0;

  const setState = (state) => {
    handlers.state(state);
    if (state === "connected") stopPolling();
    else startPolling();
  };

  function open() {
    clearTimeout(reopenTimer);
    source = new EventSource(url);
    source.addEventListener("open", () => setState("connected"));
    source.addEventListener("error", onError);
    for (const type of ["phase", "progress", "log"]) {
      source.addEventListener(type, (e) => deliver(handlers[type], e.data));
    }
  }

  function onError() {
    if (source.readyState === EventSource.CONNECTING && navigator.onLine) {
      setState("reconnecting");
      return;
    }
    // Closed for good (an answer other than an event stream), or offline.
    source.close();
    setState("offline");
    reopenTimer = setTimeout(open, reopenDelay);
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(() => handlers.poll().catch(() => {}), pollInterval);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = 0;
  }

  window.addEventListener("offline", () => {
    source.close();
    setState("offline");
  });
  window.addEventListener("online", () => {
    if (source.readyState === EventSource.CLOSED) open();
  });
  setState("connecting");
  open();
}

/** deliver decodes one event's JSON data and hands it on; a malformed event is dropped. */
function deliver(handler, data) {
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return;
  }
  handler(value);
}
