// Charts, drawn by uPlot (vendor/uplot, loaded before the modules as the
// global uPlot). Each chart fills its container's width and follows it.
// The container's data-points attribute counts the points drawn.

import { formatClock } from "./format.js";

const height = 240;
const colors = { vip: "#b3261e", normal: "#1f6feb", total: "#5b6475" };

/**
 * lineChart makes a uPlot chart of series (after the x column) in
 * container; x describes the x scale and axis (uPlot's options).
 */
function lineChart(container, series, { yLabel, xScale, xAxis }) {
  const { uPlot } = globalThis;
  const width = () => Math.max(container.clientWidth, 200);
  const plot = new uPlot(
    {
      width: width(),
      height,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false, ...xScale }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [xAxis, { label: yLabel, size: 60 }],
      series: [{}, ...series],
    },
    [[], ...series.map(() => [])],
    container,
  );
  new ResizeObserver(() => plot.setSize({ width: width(), height })).observe(container);
  return {
    /** setData draws columns: [xs, ys…]. */
    setData(columns) {
      plot.setData(columns);
      container.dataset.points = String(columns[0].length);
    },
  };
}

/** maxPoints bounds the throughput history: 15 min of progress events at 4/s. */
const maxPoints = 3600;

/**
 * throughputChart plots orders per second of VIP and NORMAL against the
 * seconds since the run started. add takes a sample of the run's counters;
 * the rate is taken over the last second or more, as counters move one
 * batch at a time.
 */
export function throughputChart(container) {
  const chart = lineChart(
    container,
    [
      { label: "VIP", stroke: colors.vip, width: 2 },
      { label: "NORMAL", stroke: colors.normal, width: 2 },
    ],
    { yLabel: "orders/s", xAxis: { label: "seconds since the run started" } },
  );
  let samples = [];
  const columns = [[], [], []];
  return {
    clear() {
      samples = [];
      columns.forEach((c) => (c.length = 0));
      chart.setData(columns);
    },
    /** add records counts {vip, normal} at t seconds into the run (the server's clock). */
    add(t, counts) {
      if (samples.length > 0 && t <= samples[samples.length - 1].t) return;
      samples.push({ t, ...counts });
      const base = samples.findLast((s) => t - s.t >= 1);
      if (!base) return;
      samples = samples.slice(samples.indexOf(base));
      const rate = (p) => Math.max(0, (counts[p] - base[p]) / (t - base.t));
      columns[0].push(t);
      columns[1].push(rate("vip"));
      columns[2].push(rate("normal"));
      if (columns[0].length > maxPoints) columns.forEach((c) => c.shift());
      chart.setData(columns);
    },
  };
}

/**
 * durationsChart plots the durations of runs, oldest to newest, each
 * labelled with the time it finished: total, VIP and NORMAL processing, in
 * seconds.
 */
export function durationsChart(container) {
  let labels = [];
  const chart = lineChart(
    container,
    [
      { label: "total", stroke: colors.total, width: 2, points: { size: 7 } },
      { label: "VIP", stroke: colors.vip, width: 1, points: { size: 5 } },
      { label: "NORMAL", stroke: colors.normal, width: 1, points: { size: 5 } },
    ],
    {
      yLabel: "seconds",
      xScale: { range: () => [-0.5, Math.max(labels.length, 1) - 0.5] },
      xAxis: {
        label: "run finished at",
        incrs: [1, 2, 5, 10, 20, 50],
        values: (_u, splits) => splits.map((i) => labels[i] ?? ""),
      },
    },
  );
  return {
    /** show draws runs (newest first, as the API lists them). */
    show(runs) {
      const ordered = [...runs].reverse();
      const seconds = (ms) => (ms ?? 0) / 1000;
      labels = ordered.map((r) => formatClock(r.createdAt));
      chart.setData([
        ordered.map((_r, i) => i),
        ordered.map((r) => seconds(r.totalTimeMs)),
        ordered.map((r) => seconds(r.processingTimeVIPMs)),
        ordered.map((r) => seconds(r.processingTimeNormalMs)),
      ]);
    },
  };
}
