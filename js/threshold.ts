// The score-threshold control: a slider over the thresholds of the split's table
// (runwatch.views.thresholds) that moves the confusion matrix, the P/R/F1, the
// point on ROC and PR and the cutoff on lift and gains. The table is in the
// page, so the slider works while a cell runs; a value set from Python comes
// back exact from the kernel (`_threshold_exact`), used when it is for the
// iteration, split and threshold shown. Pure functions first (vitest), the
// panel last. Text goes in with textContent only.
import type {
  ClassEntries,
  ClassThresholds,
  ClassificationThresholds,
  Confusion,
  DetectionThresholds,
  PerClassRow,
  Spec,
  SplitDetail,
  ThresholdExact,
  ThresholdTable,
} from "./model";

/** The named data set of the mark layer added to the curve charts. */
export const MARK_DATA = "rw_threshold";
/** The curve charts that get a mark, and the fields of their axes (runwatch.views.curves). */
export const MARKED: Record<string, [string, string]> = {
  roc: ["fpr", "tpr"],
  pr: ["recall", "precision"],
  lift: ["fraction", "lift"],
  gains: ["fraction", "gain"],
};

/** Index of the value of ascending `values` nearest to `t` (ties: the lower). */
export function nearestIndex(values: readonly number[], t: number): number {
  let lo = 0;
  let hi = values.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] ?? 0) < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs((values[lo - 1] ?? 0) - t) <= Math.abs((values[lo] ?? 0) - t)) return lo - 1;
  return lo;
}

/** Precision, recall, F1 from counts, 0 where undefined (zero_division=0, as the kernel). */
export function prf(tp: number, fp: number, fn: number): { precision: number; recall: number; f1: number } {
  const div = (a: number, b: number): number => (b > 0 ? a / b : 0);
  return { precision: div(tp, tp + fp), recall: div(tp, tp + fn), f1: div(2 * tp, 2 * tp + fp + fn) };
}

/** Counts of one class against the rest at a threshold. */
export interface ClassCounts {
  threshold: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** From the kernel at this very threshold (else the table's point nearest to it). */
  exact: boolean;
}

/** Whether `exact` holds the counts of this iteration, split and threshold. */
export function exactFor(exact: ThresholdExact | null | undefined, iteration: string | null, split: string | null, t: number): boolean {
  return exact !== null && exact !== undefined && exact.iteration === iteration && exact.split === split && exact.threshold === t;
}

/** A class's counts at `t`: the kernel's when `exact` is for it, else the table's nearest point. */
export function classCountsAt(c: ClassThresholds, t: number, exact: ThresholdExact | null): ClassCounts {
  const fromKernel = exact?.classes?.find((x) => x.label === c.label);
  if (fromKernel !== undefined) return { threshold: t, tp: fromKernel.tp, fp: fromKernel.fp, fn: fromKernel.fn, tn: fromKernel.tn, exact: true };
  const i = Math.max(0, nearestIndex(c.threshold, t));
  const tp = c.tp[i] ?? 0;
  const fp = c.fp[i] ?? 0;
  const at = c.threshold[i] ?? t;
  return { threshold: at, tp, fp, fn: c.positives - tp, tn: c.negatives - fp, exact: at === t };
}

/**
 * The 2 x 2 matrix of `counts`: for a binary task in the labels' order
 * (`labels`, the split's matrix labels), else the class and "(rest)".
 */
export function classConfusion(table: ClassificationThresholds, c: ClassThresholds, counts: ClassCounts, labels: readonly string[]): Confusion {
  if (table.binary && labels.length === 2) {
    const p = labels.indexOf(c.label);
    const q = 1 - p;
    const m = [[0, 0], [0, 0]];
    (m[p] as number[])[p] = counts.tp;
    (m[p] as number[])[q] = counts.fn;
    (m[q] as number[])[p] = counts.fp;
    (m[q] as number[])[q] = counts.tn;
    return { labels: [...labels], counts: m, cells: null };
  }
  return { labels: [c.label, "(rest)"], counts: [[counts.tp, counts.fn], [counts.fp, counts.tn]], cells: null };
}

/** Where the threshold puts one class on each curve chart: [x, y] of its axes' fields. */
export function markPoints(c: ClassThresholds, counts: ClassCounts): Record<string, Record<string, number>[]> {
  const total = c.positives + c.negatives;
  const fraction = total > 0 ? (counts.tp + counts.fp) / total : 0;
  const tpr = c.positives > 0 ? counts.tp / c.positives : 0;
  const fpr = c.negatives > 0 ? counts.fp / c.negatives : 0;
  const { precision } = prf(counts.tp, counts.fp, counts.fn);
  const predicted = counts.tp + counts.fp;
  const rate = total > 0 ? c.positives / total : 0;
  return {
    roc: [{ fpr, tpr }],
    pr: predicted > 0 ? [{ recall: tpr, precision }] : [],
    // The cutoff: a rule at the fraction of samples the threshold targets.
    lift: fraction > 0 ? [{ fraction, lift: rate > 0 ? precision / rate : 0 }] : [],
    gains: [{ fraction, gain: tpr }],
  };
}

/** A copy of a curve chart's spec with a layer drawing the threshold's mark (named data MARK_DATA). */
export function withMarkLayer(spec: Spec, chart: string): Spec {
  const fields = MARKED[chart];
  const layers = spec["layer"];
  if (fields === undefined || !Array.isArray(layers)) return spec;
  const [x, y] = fields;
  const enc = { x: { field: x, type: "quantitative" }, y: { field: y, type: "quantitative" } };
  const cutoff = chart === "lift" || chart === "gains";
  // Named: their SVG groups carry the class `<name>_marks` (tests and styles find them).
  const mark = cutoff
    ? [{ name: `${MARK_DATA}_rule`, data: { name: MARK_DATA }, mark: { type: "rule", color: "#d62728", strokeWidth: 1.5 }, encoding: { x: enc.x } }]
    : [];
  const point = { name: `${MARK_DATA}_point`, data: { name: MARK_DATA }, mark: { type: "point", filled: true, size: 90, color: "#d62728", stroke: "white", strokeWidth: 1.5 }, encoding: enc };
  return { ...spec, layer: [...layers, ...mark, point] };
}

/** The detection matrix and per-class counts at a grid threshold, or the kernel's exact ones. */
export interface DetectionAt {
  threshold: number;
  exact: boolean;
  confusion: Confusion;
  tp: number[];
  fp: number[];
  support: number[];
  /** The true positives' mean IoU per class (null: none). */
  meanIou: (number | null)[];
}

export function detectionAt(table: DetectionThresholds, t: number, exact: ThresholdExact | null): DetectionAt {
  const k = table.labels.length;
  const labels = [...table.labels, "background"];
  if (exact?.cells !== undefined && exact.tp !== undefined && exact.fp !== undefined) {
    return {
      threshold: t,
      exact: true,
      confusion: { labels, counts: null, cells: exact.cells.map(([r, c, n]) => [r, c, n] as [number, number, number]) },
      tp: exact.tp,
      fp: exact.fp,
      support: exact.support ?? table.support,
      meanIou: exact.mean_iou ?? exact.tp.map(() => null),
    };
  }
  const i = Math.max(0, nearestIndex(table.threshold, t));
  const m = Array.from({ length: k + 1 }, () => new Array<number>(k + 1).fill(0));
  const cells = table.cells;
  for (let j = 0; j < cells.n.length; j++) {
    if ((cells.at[j] ?? -1) < i) continue;
    const row = m[cells.row[j] ?? 0] as number[];
    const c = cells.column[j] ?? 0;
    row[c] = (row[c] ?? 0) + (cells.n[j] ?? 0);
  }
  for (let r = 0; r < k; r++) {
    const row = m[r] as number[];
    let taken = 0;
    for (let c = 0; c < k; c++) taken += row[c] ?? 0;
    row[k] = (table.n_true[r] ?? 0) - taken;
  }
  const sum = (entries: ClassEntries | undefined): number[] => {
    const out = new Array<number>(k).fill(0);
    if (entries === undefined) return out;
    for (let j = 0; j < entries.n.length; j++) {
      if ((entries.at[j] ?? -1) < i) continue;
      const c = entries.class[j] ?? 0;
      out[c] = (out[c] ?? 0) + (entries.n[j] ?? 0);
    }
    return out;
  };
  const at = table.threshold[i] ?? t;
  const tp = sum(table.tp);
  const iou = sum(table.iou);
  const meanIou = tp.map((n, c) => (n > 0 ? (iou[c] ?? 0) / n : null));
  return { threshold: at, exact: at === t, confusion: { labels, counts: m, cells: null }, tp, fp: sum(table.fp), support: table.support, meanIou };
}

/** The per-class rows with precision, recall, F1, tp, fp, fn at the threshold. */
export function detectionRows(rows: readonly PerClassRow[], at: DetectionAt): PerClassRow[] {
  return rows.map((row, i) => {
    const tp = at.tp[i] ?? 0;
    const fp = at.fp[i] ?? 0;
    const fn = (at.support[i] ?? 0) - tp;
    return { ...row, ...prf(tp, fp, fn), tp, fp, fn, predicted: tp + fp, mean_iou: at.meanIou[i] ?? null };
  });
}

/** What the detail panels show at a threshold (null: the control is off, or has no table). */
export interface ThresholdView {
  /** The slider's stops, ascending, and where it stands. */
  stops: number[];
  index: number;
  /** The threshold the numbers are at (the one set, or the table's nearest stop). */
  shown: number;
  exact: boolean;
  confusion: Confusion;
  /** Detection: the per-class table's rows at the threshold. */
  perClass: PerClassRow[] | null;
  /** Classification: the class scored against the rest, and the chart marks. */
  label: string | null;
  marks: Record<string, Record<string, number>[]> | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

/** The class a classification table shows: the picked one when it has it, else the first. */
export function shownClass(table: ClassificationThresholds, picked: string | null): ClassThresholds | undefined {
  return table.classes.find((c) => c.label === picked) ?? table.classes[0];
}

/** The detail at `threshold`; null when the split has no table or the threshold is off. */
export function thresholdView(
  sd: SplitDetail,
  threshold: number | null,
  exact: ThresholdExact | null,
  picked: string | null,
): ThresholdView | null {
  const table = sd.thresholds;
  if (table === null || table === undefined || threshold === null) return null;
  if (table.kind === "detection") {
    const at = detectionAt(table, threshold, exact);
    const tp = at.tp.reduce((a, b) => a + b, 0);
    const fp = at.fp.reduce((a, b) => a + b, 0);
    const support = at.support.reduce((a, b) => a + b, 0);
    return {
      stops: table.threshold,
      index: nearestIndex(table.threshold, threshold),
      shown: at.threshold,
      exact: at.exact,
      confusion: at.confusion,
      perClass: detectionRows(sd.per_class, at),
      label: null,
      marks: null,
      ...prf(tp, fp, support - tp),
    };
  }
  const c = shownClass(table, picked);
  if (c === undefined) return null;
  const counts = classCountsAt(c, threshold, exact);
  return {
    stops: c.threshold,
    index: nearestIndex(c.threshold, threshold),
    shown: counts.threshold,
    exact: counts.exact,
    confusion: classConfusion(table, c, counts, sd.confusion?.labels ?? []),
    perClass: null,
    label: c.label,
    marks: markPoints(c, counts),
    ...prf(counts.tp, counts.fp, counts.fn),
  };
}

/** The default threshold the slider starts from when switched on: 0.5, or the grid's middle. */
export function startThreshold(table: ThresholdTable, picked: string | null): number {
  const stops = table.kind === "detection" ? table.threshold : (shownClass(table, picked)?.threshold ?? []);
  if (stops.length === 0) return 0.5;
  const lo = stops[0] ?? 0;
  const hi = stops[stops.length - 1] ?? 1;
  const want = lo <= 0.5 && 0.5 <= hi ? 0.5 : (lo + hi) / 2;
  return stops[nearestIndex(stops, want)] ?? want;
}

/** A threshold as the control prints it: 4 significant digits (all of them when set exactly). */
export function thresholdText(t: number): string {
  return Number.isInteger(t) ? t.toFixed(1) : String(Number(t.toPrecision(4)));
}

export const THRESHOLD_CSS = `
.rw-threshold { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin: 2px 0 8px; font-size: 12px; }
.rw-threshold input[type=range] { width: 160px; }
.rw-threshold .rw-threshold-value { font-variant-numeric: tabular-nums; min-width: 4.5em; }
.rw-threshold .rw-threshold-scores { font-variant-numeric: tabular-nums; color: #444; }
`;

export interface ThresholdOptions {
  /** A new threshold from the slider (a stop of the table), or null (the control switched off). */
  onThreshold: (t: number | null) => void;
  /** The class picked for one against the rest. */
  onClass: (label: string) => void;
}

/** The control: on/off, slider, value, class picker, P/R/F1. Its elements persist (a drag goes on). */
export class ThresholdPanel {
  readonly el: HTMLElement;
  private toggle: HTMLInputElement;
  private slider: HTMLInputElement;
  private value: HTMLElement;
  private classPick: HTMLSelectElement;
  private scores: HTMLElement;
  private stops: number[] = [];
  private table: ThresholdTable | null = null;
  private picked: string | null = null;

  constructor(private options: ThresholdOptions) {
    this.el = document.createElement("div");
    this.el.className = "rw-threshold";
    const label = document.createElement("label");
    label.className = "rw-threshold-toggle";
    this.toggle = document.createElement("input");
    this.toggle.type = "checkbox";
    label.append(this.toggle, document.createTextNode(" Score threshold"));
    this.slider = document.createElement("input");
    this.slider.type = "range";
    this.slider.min = "0";
    this.slider.step = "1";
    this.slider.setAttribute("aria-label", "score threshold");
    this.value = document.createElement("span");
    this.value.className = "rw-threshold-value";
    this.classPick = document.createElement("select");
    this.classPick.className = "rw-threshold-class";
    this.classPick.title = "The class scored against the rest";
    this.scores = document.createElement("span");
    this.scores.className = "rw-threshold-scores";
    this.el.append(label, this.slider, this.value, this.classPick, this.scores);
    this.toggle.addEventListener("change", () => {
      const table = this.table;
      this.options.onThreshold(this.toggle.checked && table !== null ? startThreshold(table, this.picked) : null);
    });
    this.slider.addEventListener("input", () => {
      const t = this.stops[Number(this.slider.value)];
      if (t !== undefined) this.options.onThreshold(t);
    });
    this.classPick.addEventListener("change", () => this.options.onClass(this.classPick.value));
  }

  /** Show the table's control; `view` null: switched off (the arg-max rule). */
  show(table: ThresholdTable, view: ThresholdView | null, threshold: number | null, picked: string | null): void {
    this.table = table;
    this.picked = picked;
    const on = threshold !== null && view !== null;
    this.toggle.checked = on;
    this.el.classList.toggle("rw-threshold-on", on);
    const classes = table.kind === "classification" && !table.binary ? table.classes.map((c) => c.label) : [];
    if (classes.join("\u0000") !== [...this.classPick.options].map((o) => o.value).join("\u0000")) {
      this.classPick.replaceChildren(
        ...classes.map((l) => {
          const o = document.createElement("option");
          o.value = l;
          o.textContent = l;
          return o;
        }),
      );
    }
    this.classPick.hidden = classes.length === 0;
    if (classes.length > 0) this.classPick.value = view?.label ?? picked ?? classes[0] ?? "";
    this.stops = view?.stops ?? (table.kind === "detection" ? table.threshold : (shownClass(table, picked)?.threshold ?? []));
    this.slider.max = String(Math.max(0, this.stops.length - 1));
    this.slider.disabled = !on;
    if (view !== null && String(view.index) !== this.slider.value) this.slider.value = String(view.index);
    if (view === null) {
      this.value.textContent = table.kind === "detection" ? "off: the engine's score_threshold" : "off: arg-max";
      this.scores.textContent = "";
      return;
    }
    const t = threshold ?? view.shown;
    this.value.textContent = view.exact ? `\u2265 ${thresholdText(t)}` : `\u2265 ${thresholdText(view.shown)} (nearest to ${thresholdText(t)})`;
    const f = (x: number | null): string => (x === null ? "\u2014" : x.toFixed(3));
    const who = view.label !== null ? `${view.label}: ` : "all classes: ";
    this.scores.textContent = `${who}precision ${f(view.precision)} \u00b7 recall ${f(view.recall)} \u00b7 F1 ${f(view.f1)}`;
  }
}

const marked = new WeakMap<Spec, Spec>();

/** `specs` with the mark layer on the curve charts (the same objects each time, so no redraw). */
export function markedSpecs(specs: Record<string, Spec>): Record<string, Spec> {
  const out: Record<string, Spec> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (MARKED[name] === undefined) {
      out[name] = spec;
      continue;
    }
    let copy = marked.get(spec);
    if (copy === undefined) {
      copy = withMarkLayer(spec, name);
      marked.set(spec, copy);
    }
    out[name] = copy;
  }
  return out;
}

/** What the marks need of a chart grid: its drawn charts by name (charts.ts ChartGrid). */
interface Charts {
  chart(name: string): Promise<unknown> | undefined;
}

/** The part of a vega-embed result the marks use. */
interface Drawn {
  view: { data(name: string, values: unknown[]): { runAsync(): Promise<unknown> } };
}

/** Put the marks in the drawn curve charts (none: clear them). */
export function applyMarks(grid: Charts, marks: Record<string, Record<string, number>[]> | null): void {
  for (const name of Object.keys(MARKED)) {
    const drawn = grid.chart(name);
    if (drawn === undefined) continue;
    void drawn.then((r) => (r as Drawn | null)?.view.data(MARK_DATA, marks?.[name] ?? []).runAsync()).catch(() => undefined);
  }
}

/**
 * The per-class bars' rows (named data "per_class": label, measure, value,
 * rank, ...) with the values at the threshold; the order of the bars stays.
 */
export function barRows(rows: readonly Record<string, unknown>[], perClass: readonly PerClassRow[]): Record<string, unknown>[] {
  const by = new Map(perClass.map((r) => [r.label, r]));
  return rows.map((row) => {
    const at = by.get(String(row["label"]));
    const measure = String(row["measure"]);
    if (at === undefined) return Object.fromEntries(Object.entries(row));
    const value = at[measure];
    const out: Record<string, unknown> = { ...Object.fromEntries(Object.entries(row)), value: typeof value === "number" ? value : row["value"] };
    if ("f1" in row && typeof at["f1"] === "number") out["f1"] = at["f1"];
    return out;
  });
}

/** The part of a vega view the bars use. */
interface DataView {
  data(name: string): Record<string, unknown>[];
  data(name: string, values: unknown[]): { runAsync(): Promise<unknown> };
}

const barsAsSent = new WeakMap<object, Record<string, unknown>[]>();

/** Move the per-class bars to the threshold's values (null: back to the kernel's). */
export function applyBars(grid: Charts, perClass: readonly PerClassRow[] | null): void {
  const drawn = grid.chart("per_class");
  if (drawn === undefined) return;
  void drawn
    .then((r) => {
      const view = (r as { view: DataView } | null)?.view;
      if (view === undefined) return;
      let sent = barsAsSent.get(view);
      if (sent === undefined) {
        // Own string keys only: a spread would copy vega's tuple-id symbol, and tuples that
        // keep their ids are not re-ingested as new ones.
        sent = view.data("per_class").map((row) => Object.fromEntries(Object.entries(row)));
        barsAsSent.set(view, sent);
      }
      return view.data("per_class", perClass === null ? sent : barRows(sent, perClass)).runAsync();
    })
    .catch(() => undefined);
}
