// Formatting of counts, rates, durations and times, and a small helper to
// build DOM elements without HTML strings.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });

/** formatCount formats a whole number with grouping: 12 345. */
export function formatCount(n) {
  return Number.isFinite(n) ? integer.format(n) : "—";
}

/** formatRate formats orders per second. */
export function formatRate(perSecond) {
  return Number.isFinite(perSecond) ? `${integer.format(perSecond)}/s` : "—";
}

/** formatDuration formats milliseconds as 850 ms, 12.3 s, 4 min 05 s or 1 h 02 min; null is —. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, "0")} min`;
}

/** formatClock formats a time (ISO string or Unix ms) as the local time of day. */
export function formatClock(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? "—" : clock.format(d);
}

/** formatDateTime formats a time (ISO string or Unix ms) as a local date and time. */
export function formatDateTime(t) {
  const d = new Date(t);
  return t === null || Number.isNaN(d.getTime()) ? "—" : dateTime.format(d);
}

/**
 * el builds an element: el("td", { className: "num" }, "12"). Properties
 * are set on the element; children are nodes or text.
 */
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}
