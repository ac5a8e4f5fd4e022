// The overfit gap of the shown iteration: train minus validation for every metric
// and per class (where both splits were logged), as tables of diverging bars, the
// classes of the largest gap flagged; and the gap of the loss curves over the steps
// both splits logged. Computed from what the page holds (no new state on the wire);
// the pure parts mirror runwatch.views.gap (tested against scikit-learn).
import { changeset } from "vega";
import type { Result } from "vega-embed";
import { drawSpec } from "./charts";
import { difference } from "./compare";
import { columnFormat, formatNumber } from "./format";
import type { Detail, LossPoint, SplitDetail, Spec } from "./model";

/** How many classes are flagged at most, and the smallest key-column gap that is. */
export const FLAGGED = 3;
export const MIN_FLAGGED_GAP = 0.05;
const COUNT_COLUMNS = new Set(["support", "predicted", "tp", "fp", "fn"]);
const KEY_COLUMNS = ["f1", "iou", "ap", "ap50"];

export interface MetricGap {
  metric: string;
  train: number;
  validation: number;
  gap: number;
}

/** `train - validation` of each metric defined in both, in `train`'s group order. */
export function metricGap(train: SplitDetail, validation: SplitDetail): MetricGap[] {
  const order = (train.groups ?? []).length > 0 ? train.groups.flatMap((g) => g.metrics) : Object.keys(train.metrics);
  const out: MetricGap[] = [];
  for (const metric of order) {
    const t = train.metrics[metric];
    const v = validation.metrics[metric];
    const gap = difference(t, v);
    if (gap !== null) out.push({ metric, train: t as number, validation: v as number, gap });
  }
  return out;
}

/** The per-class column whose gap flags classes: F1, else IoU, else AP, else the first score. */
export function gapColumn(columns: readonly string[]): string | null {
  const scores = columns.filter((c) => !COUNT_COLUMNS.has(c));
  return KEY_COLUMNS.find((k) => scores.includes(k)) ?? scores[0] ?? null;
}

/** Positions of the `k` largest gaps of at least `minGap`, largest first (ties: the first listed). */
export function flagClasses(gaps: readonly (number | null)[], k = FLAGGED, minGap = MIN_FLAGGED_GAP): number[] {
  return gaps
    .map((g, i) => [g, i] as const)
    .filter((p): p is readonly [number, number] => p[0] !== null && p[0] >= minGap)
    .sort((x, y) => y[0] - x[0] || x[1] - y[1])
    .slice(0, k)
    .map((p) => p[1]);
}

export interface ClassGap {
  label: string;
  train: Record<string, number | null>;
  validation: Record<string, number | null>;
  gap: Record<string, number | null>;
  flagged: boolean;
}

/** Whether a class had samples in a split (a row without `support` is taken as it is). */
function measured(row: SplitDetail["per_class"][number]): boolean {
  if (!("support" in row)) return true;
  const s = row["support"];
  return typeof s === "number" && s > 0;
}

/** Per class measured in both splits (by name; support above 0), the score columns' gaps; the key column's largest flagged. */
export function perClassGap(train: SplitDetail, validation: SplitDetail): { columns: [string, string][]; key: string | null; rows: ClassGap[] } {
  const inValid = new Set((validation.per_class_columns ?? []).map(([c]) => c));
  const columns = (train.per_class_columns ?? []).filter(([c]) => inValid.has(c) && !COUNT_COLUMNS.has(c));
  const valid = new Map(validation.per_class.map((r) => [r.label, r]));
  const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
  const rows: ClassGap[] = [];
  for (const r of train.per_class) {
    const v = valid.get(r.label);
    if (v === undefined || !measured(r) || !measured(v)) continue;
    const row: ClassGap = { label: r.label, train: {}, validation: {}, gap: {}, flagged: false };
    for (const [c] of columns) {
      row.train[c] = num(r[c]);
      row.validation[c] = num(v[c]);
      row.gap[c] = difference(row.train[c], row.validation[c]);
    }
    rows.push(row);
  }
  const key = gapColumn(columns.map(([c]) => c));
  if (key !== null) for (const i of flagClasses(rows.map((r) => r.gap[key] ?? null))) rows[i]!.flagged = true;
  return { columns, key, rows };
}

export interface LossGap {
  step: number;
  train: number;
  validation: number;
  gap: number;
}

/** The gap of the loss curves: `train - validation` at each step both logged (the last value of a step counts). */
export function lossGap(points: readonly LossPoint[]): LossGap[] {
  const train = new Map<number, number>();
  const valid = new Map<number, number>();
  for (const p of points) {
    if (typeof p.value !== "number" || !Number.isFinite(p.value)) continue;
    if (p.split === "train") train.set(p.step, p.value);
    else if (p.split === "validation") valid.set(p.step, p.value);
  }
  return [...train.keys()]
    .filter((s) => valid.has(s))
    .sort((a, b) => a - b)
    .map((step) => {
      const t = train.get(step) as number;
      const v = valid.get(step) as number;
      return { step, train: t, validation: v, gap: t - v };
    });
}

/** A cell with a bar from the middle: right (blue) for a positive gap, left (orange) for a negative. */
export function barCell(gap: number | null, max: number): HTMLTableCellElement {
  const td = document.createElement("td");
  td.className = "rw-gap-bar";
  const track = document.createElement("div");
  track.className = "rw-gap-track";
  if (gap !== null && max > 0) {
    const bar = document.createElement("div");
    const width = (50 * Math.min(1, Math.abs(gap) / max)).toFixed(1);
    bar.className = gap >= 0 ? "rw-gap-pos" : "rw-gap-neg";
    if (Math.abs(gap) > max) {
      bar.classList.add("rw-gap-cut");
      td.title = "beyond the scale of the scores' gaps";
    }
    bar.style.width = `${width}%`;
    bar.style.left = gap >= 0 ? "50%" : `${(50 - Number(width)).toFixed(1)}%`;
    track.append(bar);
  }
  td.append(track);
  return td;
}

function table(cls: string, titles: string[]): HTMLTableElement {
  const t = document.createElement("table");
  t.className = `rw-table ${cls}`;
  const h = t.createTHead().insertRow();
  titles.forEach((text, i) => {
    const th = document.createElement("th");
    th.textContent = text;
    if (i > 0) th.className = "rw-num";
    h.appendChild(th);
  });
  t.createTBody();
  return t;
}

function td(tr: HTMLTableRowElement, text: string, cls = "rw-num"): HTMLTableCellElement {
  const c = tr.insertCell();
  c.textContent = text;
  c.className = cls;
  return c;
}

function signedText(v: number, text: string): string {
  return v > 0 ? `+${text}` : v < 0 ? `\u2212${text.replace(/^-/, "")}` : text;
}

/** Whether a metric is a score or a rate (both values within [-1, 1]), unlike a loss or an error. */
function bounded(r: MetricGap): boolean {
  return Math.abs(r.train) <= 1 && Math.abs(r.validation) <= 1;
}

/**
 * The gap a full bar stands for: the largest of the scores and rates, so a log loss
 * gap of 2.5 does not flatten the 0.05 gaps of the scores (its bar is cut at the
 * end); the largest of all when there are no scores.
 */
export function barScale(rows: readonly MetricGap[]): number {
  const scores = rows.filter(bounded);
  return Math.max(0, ...(scores.length > 0 ? scores : rows).map((r) => Math.abs(r.gap)));
}

/** The metrics' gaps: metric, train, validation, gap and its bar. */
export function metricGapTable(rows: readonly MetricGap[]): HTMLTableElement {
  const t = table("rw-gap-metrics", ["Metric", "Train", "Validation", "Gap", ""]);
  const values = columnFormat(rows.flatMap((r) => [r.train, r.validation]));
  const gaps = columnFormat(rows.map((r) => Math.abs(r.gap)));
  const max = barScale(rows);
  const body = t.tBodies[0]!;
  for (const r of rows) {
    const tr = body.insertRow();
    tr.dataset["metric"] = r.metric;
    td(tr, r.metric, "");
    td(tr, formatNumber(r.train, values));
    td(tr, formatNumber(r.validation, values));
    td(tr, signedText(r.gap, formatNumber(Math.abs(r.gap), gaps))).dataset["value"] = String(r.gap);
    tr.append(barCell(r.gap, max));
  }
  return t;
}

/** The per-class gaps: the key column's train, validation and gap (with its bar), the other columns' gaps, the flag. */
export function classGapTable(g: ReturnType<typeof perClassGap>): HTMLTableElement {
  const key = g.key;
  const heading = (c: string): string => g.columns.find(([n]) => n === c)?.[1] ?? c;
  const others = g.columns.map(([c]) => c).filter((c) => c !== key);
  const titles = ["Class"];
  if (key !== null) titles.push(`${heading(key)} train`, `${heading(key)} validation`, `${heading(key)} gap`, "");
  titles.push(...others.map((c) => `${heading(c)} gap`));
  const t = table("rw-gap-classes", titles);
  const body = t.tBodies[0]!;
  const fmt = (c: string, abs: boolean) => columnFormat(g.rows.flatMap((r) => (abs ? [Math.abs(r.gap[c] ?? 0)] : [r.train[c] ?? null, r.validation[c] ?? null])));
  const max = key === null ? 0 : Math.max(0, ...g.rows.map((r) => Math.abs(r.gap[key] ?? 0)));
  const keyValues = key === null ? null : fmt(key, false);
  for (const r of g.rows) {
    const tr = body.insertRow();
    tr.dataset["label"] = r.label;
    const name = td(tr, r.label, "");
    if (r.flagged) {
      tr.classList.add("rw-gap-flagged");
      const flag = document.createElement("span");
      flag.className = "rw-gap-flag";
      flag.textContent = " \u2691";
      flag.title = `among the ${FLAGGED} largest ${key === null ? "" : heading(key)} gaps of at least ${MIN_FLAGGED_GAP}`;
      name.append(flag);
    }
    if (key !== null && keyValues !== null) {
      td(tr, formatNumber(r.train[key], keyValues));
      td(tr, formatNumber(r.validation[key], keyValues));
      const v = r.gap[key] ?? null;
      td(tr, v === null ? "\u2014" : signedText(v, formatNumber(Math.abs(v), fmt(key, true)))).dataset["value"] = String(v);
      tr.append(barCell(v, max));
    }
    for (const c of others) {
      const v = r.gap[c] ?? null;
      td(tr, v === null ? "\u2014" : signedText(v, formatNumber(Math.abs(v), fmt(c, true))));
    }
  }
  return t;
}

/** Name of the loss-gap chart's data set. */
export const LOSS_GAP_DATA = "loss_gap";

/** The loss-gap chart: train - validation loss by step, a rule at 0. */
export function lossGapSpec(): Spec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: "Loss gap (train \u2212 validation)", anchor: "start" },
    width: 300,
    height: 160,
    data: { name: LOSS_GAP_DATA, values: [] },
    layer: [
      { mark: { type: "rule", color: "gray", strokeDash: [4, 4] }, encoding: { y: { datum: 0 } } },
      {
        mark: { type: "line", point: true, color: "#4e79a7" },
        encoding: {
          x: { field: "step", type: "quantitative", title: "step" },
          y: { field: "gap", type: "quantitative", title: "train \u2212 validation loss" },
          tooltip: [
            { field: "step", type: "quantitative" },
            { field: "train", type: "quantitative", format: ".4g" },
            { field: "validation", type: "quantitative", format: ".4g" },
            { field: "gap", type: "quantitative", format: "+.4g" },
          ],
        },
      },
    ],
  };
}

/** The splits whose gap is taken, when the detail has both. */
export function gapSplits(d: Detail | undefined): { train: SplitDetail; validation: SplitDetail } | null {
  const train = d?.splits["train"];
  const validation = d?.splits["validation"];
  return train !== undefined && validation !== undefined ? { train, validation } : null;
}

/**
 * The overfit-gap panel of one view: rebuilt with the detail, its loss-gap chart
 * fed the loss points as they come (a changeset, not a new chart).
 */
export class GapPanel {
  readonly el: HTMLElement;
  private chartBox: HTMLElement;
  private tables: HTMLElement;
  private result: Promise<Result | null> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private lastKey = "";

  constructor() {
    this.el = document.createElement("div");
    this.el.className = "rw-panel rw-gap";
    const title = document.createElement("h4");
    title.textContent = "Overfit gap (train \u2212 validation)";
    this.tables = document.createElement("div");
    this.tables.className = "rw-gap-tables";
    this.chartBox = document.createElement("div");
    this.chartBox.className = "rw-chart rw-loss-gap";
    this.el.append(title, this.tables, this.chartBox);
    this.el.hidden = true;
  }

  /** Show the gaps of `detail` and of `losses`; hidden when there is neither. */
  show(detail: Detail | undefined, losses: readonly LossPoint[]): void {
    const splits = gapSplits(detail);
    const parts: HTMLElement[] = [];
    if (splits !== null) {
      const rows = metricGap(splits.train, splits.validation);
      if (rows.length > 0) parts.push(metricGapTable(rows));
      const classes = perClassGap(splits.train, splits.validation);
      if (classes.rows.length > 0 && classes.columns.length > 0) {
        const wrap = document.createElement("div");
        wrap.className = "rw-metrics-wrap rw-gap-classes-wrap";
        wrap.append(classGapTable(classes));
        parts.push(wrap);
      }
    }
    this.tables.replaceChildren(...parts);
    this.showLoss(losses, parts.length === 0);
  }

  /** The loss gap only (new loss points of the shown iteration). */
  showLoss(losses: readonly LossPoint[], nothingElse = this.tables.childElementCount === 0): void {
    const rows = lossGap(losses);
    this.el.hidden = nothingElse && rows.length === 0;
    this.chartBox.hidden = rows.length === 0;
    const key = JSON.stringify(rows.length === 0 ? null : [rows.length, rows[rows.length - 1]]);
    if (key === this.lastKey) return;
    this.lastKey = key;
    if (rows.length === 0) return;
    if (this.result === null) {
      this.result = this.queue.then(() => drawSpec(this.chartBox, lossGapSpec()).catch(() => null));
      this.queue = this.result;
    }
    const result = this.result;
    this.queue = this.queue.then(async () => {
      const r = await result;
      if (r === null) return;
      r.view.change(LOSS_GAP_DATA, changeset().remove(() => true).insert(rows.map((x) => ({ ...x }))));
      await r.view.resize().runAsync();
    });
  }

  finalize(): void {
    void this.result?.then((r) => r?.finalize());
    this.result = null;
  }
}

/** The gap panel's styles (appended to style.ts's). */
export const GAP_CSS = `
.rw-gap { display: flex; flex-direction: column; gap: 6px; }
.rw-gap-tables { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.rw-gap-classes-wrap { max-height: 300px; }
.rw-gap-bar { width: 120px; padding: 3px 4px !important; }
.rw-gap-track { position: relative; height: 10px; background: linear-gradient(to right, transparent calc(50% - 0.5px), #999 calc(50% - 0.5px), #999 calc(50% + 0.5px), transparent calc(50% + 0.5px)); }
.rw-gap-pos, .rw-gap-neg { position: absolute; top: 0; height: 10px; }
.rw-gap-pos { background: #4e79a7; }
.rw-gap-neg { background: #f28e2b; }
.rw-gap-flagged td:first-child { font-weight: 600; }
.rw-gap-flag { color: #c0392b; }
.rw-gap-cut.rw-gap-pos { border-right: 3px double white; }
.rw-gap-cut.rw-gap-neg { border-left: 3px double white; }
`;
