/**
 * Small SVG charts for the console, drawn by hand: stacked bars by hour, a
 * rate line, grouped bars. The geometry is pure (tested without a DOM);
 * `draw*` turn it into SVG nodes. Labels are text nodes, never markup, and
 * colours come from CSS classes (the page's CSP allows no inline style).
 */

import type { StatsGroup } from "./api.js";

export const HOUR_MS = 3_600_000;
const W = 480;
const H = 200;
const PAD = { left: 44, right: 8, top: 10, bottom: 24 };

/** The smallest 1, 2 or 5 × 10^n at or above `v` (an axis top that reads well). */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export interface HourSlot {
  start: number; // ms, UTC, on the hour
  completed: number;
  failed: number;
  cancelled: number;
}

/** `hours` slots ending with the one holding `until`, filled from hourly groups. */
export function hourSlots(groups: StatsGroup[], until: number, hours: number): HourSlot[] {
  const last = Math.floor((until - 1) / HOUR_MS) * HOUR_MS;
  const slots: HourSlot[] = [];
  for (let i = hours - 1; i >= 0; i--) {
    slots.push({ start: last - i * HOUR_MS, completed: 0, failed: 0, cancelled: 0 });
  }
  const first = slots[0]?.start ?? last;
  for (const g of groups) {
    const at = g.key === null ? NaN : Date.parse(g.key);
    const slot = slots[Math.round((at - first) / HOUR_MS)];
    if (slot === undefined || slot.start !== at) continue;
    slot.completed += g.by_status.completed;
    slot.failed += g.by_status.failed;
    slot.cancelled += g.by_status.cancelled;
  }
  return slots;
}

/** failed / (completed + failed) of a slot; null when neither happened. */
export function failureRate(s: HourSlot): number | null {
  const n = s.completed + s.failed;
  return n === 0 ? null : s.failed / n;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

const plotW = W - PAD.left - PAD.right;
const plotH = H - PAD.top - PAD.bottom;

/** Where the i-th of n bands sits, and a bar `height` of `max` in it. */
export function band(i: number, n: number, value: number, max: number, gap = 0.2): Rect {
  const step = plotW / Math.max(n, 1);
  const h = max > 0 ? (Math.max(value, 0) / max) * plotH : 0;
  return {
    x: PAD.left + i * step + (step * gap) / 2,
    y: PAD.top + plotH - h,
    w: step * (1 - gap),
    h,
  };
}

/** Stacked segments (bottom first) of one slot, each with its CSS class. */
export function stack(
  i: number,
  n: number,
  parts: [string, number][],
  max: number,
): (Rect & { cls: string })[] {
  let below = 0;
  const out: (Rect & { cls: string })[] = [];
  for (const [cls, v] of parts) {
    if (v <= 0) continue;
    const whole = band(i, n, below + v, max);
    const under = band(i, n, below, max);
    out.push({ ...whole, h: whole.h - under.h, cls });
    below += v;
  }
  return out;
}

/** The polyline runs of a series with gaps (null breaks the line). */
export function lineRuns(values: (number | null)[], max: number): [number, number][][] {
  const runs: [number, number][][] = [];
  let run: [number, number][] = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (run.length) runs.push(run);
      run = [];
      return;
    }
    const r = band(i, values.length, v, max, 1);
    run.push([r.x, r.y]);
  });
  if (run.length) runs.push(run);
  return runs;
}

// -- drawing -------------------------------------------------------------

const NS = "http://www.w3.org/2000/svg";

function s(
  tag: string,
  attrs: Record<string, string | number>,
  ...kids: (Node | string)[]
): SVGElement {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const k of kids) el.append(k);
  return el;
}

function frame(label: string, top: string): SVGElement {
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": label,
    class: "chart",
  });
  svg.append(
    s("line", {
      x1: PAD.left,
      y1: PAD.top + plotH,
      x2: W - PAD.right,
      y2: PAD.top + plotH,
      class: "axis",
    }),
    s("text", { x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end", class: "tick" }, top),
    s("text", { x: PAD.left - 4, y: PAD.top + plotH, "text-anchor": "end", class: "tick" }, "0"),
  );
  return svg;
}

function hourLabel(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function xLabels(svg: SVGElement, labels: string[], every: number): void {
  labels.forEach((text, i) => {
    if (i % every !== 0 && i !== labels.length - 1) return;
    const r = band(i, labels.length, 0, 1);
    svg.append(
      s("text", { x: r.x + r.w / 2, y: H - 6, "text-anchor": "middle", class: "tick" }, text),
    );
  });
}

/** Jobs that ended per hour, stacked completed / failed / cancelled. */
export function drawJobsPerHour(slots: HourSlot[]): SVGElement {
  const max = niceMax(Math.max(...slots.map((x) => x.completed + x.failed + x.cancelled), 0));
  const svg = frame("Jobs per hour", String(max));
  slots.forEach((slot, i) => {
    const title = `${hourLabel(slot.start)} UTC: ${slot.completed} completed, ${slot.failed} failed, ${slot.cancelled} cancelled`;
    const parts: [string, number][] = [
      ["completed", slot.completed],
      ["failed", slot.failed],
      ["cancelled", slot.cancelled],
    ];
    for (const r of stack(i, slots.length, parts, max)) {
      svg.append(
        s(
          "rect",
          { x: r.x, y: r.y, width: r.w, height: r.h, class: `bar ${r.cls}` },
          s("title", {}, title),
        ),
      );
    }
  });
  xLabels(
    svg,
    slots.map((x) => hourLabel(x.start)),
    4,
  );
  return svg;
}

/** Failed share of the jobs that completed or failed, per hour (gaps where none did). */
export function drawFailureRate(slots: HourSlot[]): SVGElement {
  const rates = slots.map(failureRate);
  const svg = frame("Failure rate per hour", "100%");
  for (const run of lineRuns(rates, 1)) {
    svg.append(
      s("polyline", { points: run.map((p) => p.join(",")).join(" "), class: "line failed" }),
    );
    for (const [x, y] of run)
      svg.append(s("circle", { cx: x, cy: y, r: 2.5, class: "dot failed" }));
  }
  rates.forEach((r, i) => {
    if (r === null) return;
    const b = band(i, rates.length, r, 1, 1);
    const text = `${hourLabel(slots[i]?.start ?? 0)} UTC: ${(r * 100).toFixed(1)}% failed`;
    svg.append(
      s(
        "rect",
        { x: b.x - 4, y: PAD.top, width: 8, height: plotH, class: "hit" },
        s("title", {}, text),
      ),
    );
  });
  xLabels(
    svg,
    slots.map((x) => hourLabel(x.start)),
    4,
  );
  return svg;
}

export const PCTS = ["p50", "p95", "p99"] as const;

/** Run time p50 / p95 / p99 (completed jobs) for each coordination mode. */
export function drawRunTimeByMode(groups: StatsGroup[]): SVGElement {
  const modes = groups.filter((g) => g.run_time_s.count > 0);
  const top = Math.max(...modes.flatMap((g) => PCTS.map((p) => g.run_time_s[p] ?? 0)), 0);
  const max = niceMax(top);
  const svg = frame("Run time percentiles by mode", `${max} s`);
  if (modes.length === 0) {
    const at = { x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, "text-anchor": "middle" };
    svg.append(s("text", { ...at, class: "tick" }, "no completed job in this window"));
  }
  modes.forEach((g, i) => {
    const outer = band(i, modes.length, 0, max);
    PCTS.forEach((p, j) => {
      const v = g.run_time_s[p] ?? 0;
      const r = band(i, modes.length, v, max);
      const w = outer.w / PCTS.length;
      const title = `${g.key ?? "(no mode)"} ${p}: ${v.toFixed(2)} s over ${g.run_time_s.count} jobs`;
      svg.append(
        s(
          "rect",
          { x: outer.x + j * w, y: r.y, width: w * 0.9, height: r.h, class: `bar ${p}` },
          s("title", {}, title),
        ),
      );
    });
  });
  xLabels(
    svg,
    modes.map((g) => g.key ?? "(no mode)"),
    1,
  );
  return svg;
}
