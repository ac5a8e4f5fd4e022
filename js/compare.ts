// Comparing two iterations: the shown one (a, `selected`) and a second one (b,
// `compared`), from the details already in the page (no round trip to the kernel,
// so it works while a cell runs). Every difference is a - b; labels are matched by
// name, a class one of them never saw counting as zeros there. The pure parts
// mirror runwatch.views.compare (tested against scikit-learn); the tables and the
// difference matrix are drawn here.
import { read } from "vega";
import { OTHER, denseCounts } from "./confusion";
import { columnFormat, formatColumn, formatNumber } from "./format";
import type { Confusion, MetricGroup, SplitDetail, Spec } from "./model";

/** `a - b`; null when either is missing or not finite. */
export function difference(a: unknown, b: unknown): number | null {
  if (typeof a !== "number" || typeof b !== "number" || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  return a - b;
}

/** `a`'s labels in order, then those only `b` has. */
export function alignLabels(a: readonly string[], b: readonly string[]): string[] {
  const seen = new Set(a);
  return [...a, ...b.filter((l) => !seen.has(l))];
}

/** `matrix` on `labels` (by name), each row divided by its sum; an empty or missing row is zeros. */
export function rowNormalisedOn(matrix: Confusion, labels: readonly string[]): number[][] {
  const at = new Map(labels.map((l, i) => [l, i]));
  const out = labels.map(() => new Array<number>(labels.length).fill(0));
  const counts = denseCounts(matrix);
  matrix.labels.forEach((t, i) => {
    const r = at.get(t);
    const row = counts[i] ?? [];
    const sum = row.reduce((s, v) => s + v, 0);
    if (r === undefined || !(sum > 0)) return;
    matrix.labels.forEach((p, j) => {
      const c = at.get(p);
      const target = out[r];
      if (c !== undefined && target !== undefined) target[c] = (row[j] ?? 0) / sum;
    });
  });
  return out;
}

/** Two row-normalised matrices on the union of their labels, and their difference. */
export interface MatrixDifference {
  labels: string[];
  a: number[][];
  b: number[][];
  diff: number[][];
}

/** The row-normalised matrix of `a` minus that of `b` (runwatch.views.compare.confusion_difference). */
export function matrixDifference(a: Confusion, b: Confusion): MatrixDifference {
  const labels = alignLabels(a.labels, b.labels);
  const na = rowNormalisedOn(a, labels);
  const nb = rowNormalisedOn(b, labels);
  return { labels, a: na, b: nb, diff: na.map((r, i) => r.map((v, j) => v - (nb[i]?.[j] ?? 0))) };
}

/**
 * The `k` classes of the largest changes: cells by |difference|, largest first
 * (ties row-major), each adding its true then its predicted class; in matrix order.
 */
export function mostChanged(diff: readonly (readonly number[])[], k: number): number[] {
  const cells: [number, number, number][] = [];
  diff.forEach((r, i) => r.forEach((v, j) => { if (v !== 0) cells.push([Math.abs(v), i, j]); }));
  cells.sort((x, y) => y[0] - x[0] || x[1] - y[1] || x[2] - y[2]);
  const chosen: number[] = [];
  for (const [, i, j] of cells) {
    for (const c of [i, j]) if (chosen.length < k && !chosen.includes(c)) chosen.push(c);
    if (chosen.length >= k) break;
  }
  return chosen.sort((x, y) => x - y);
}

/**
 * The rows of the kept classes over the kept columns, plus an "(other)" column holding
 * what the left-out columns add up to (a row of a difference still sums to 0). Rows of
 * left-out classes are not summed: a sum of shares of different classes means nothing.
 */
export function keepClasses(m: MatrixDifference, keep: readonly number[]): MatrixDifference {
  const kept = [...keep];
  const other = kept.length < m.labels.length;
  const pick = (mat: number[][]): number[][] =>
    kept.map((i) => {
      const row = mat[i] ?? [];
      const out = kept.map((j) => row[j] ?? 0);
      if (other) out.push(row.reduce((s, v, j) => (kept.includes(j) ? s : s + v), 0));
      return out;
    });
  const labels = kept.map((i) => m.labels[i] ?? "");
  return { labels: other ? [...labels, OTHER] : labels, a: pick(m.a), b: pick(m.b), diff: pick(m.diff) };
}

/** A metric of both iterations. */
export interface MetricComparison {
  metric: string;
  a: number | null;
  b: number | null;
  difference: number | null;
}

/** The metric groups of `a`, then a group of what only `b` has; a row per metric. */
export function compareMetrics(a: SplitDetail, b: SplitDetail): { groups: MetricGroup[]; rows: Map<string, MetricComparison> } {
  const groups: MetricGroup[] = (a.groups ?? []).length > 0 ? a.groups.map((g) => ({ group: g.group, metrics: [...g.metrics] })) : [{ group: "metrics", metrics: Object.keys(a.metrics).sort() }];
  const listed = new Set(groups.flatMap((g) => g.metrics));
  const extra = Object.keys(b.metrics).filter((m) => !listed.has(m)).sort();
  if (extra.length > 0) groups.push({ group: "other", metrics: extra });
  const rows = new Map<string, MetricComparison>();
  for (const name of groups.flatMap((g) => g.metrics)) {
    const va = a.metrics[name] ?? null;
    const vb = b.metrics[name] ?? null;
    rows.set(name, { metric: name, a: va, b: vb, difference: difference(va, vb) });
  }
  return { groups, rows };
}

/** A class of either: its values in each, and the difference, per column. */
export interface ClassComparison {
  label: string;
  a: Record<string, number | null>;
  b: Record<string, number | null>;
  difference: Record<string, number | null>;
}

const CLASSIFICATION_COLUMNS: [string, string][] = [
  ["precision", "Precision"],
  ["recall", "Recall"],
  ["f1", "F1"],
  ["support", "Support"],
];

/** Columns that count (their differences print as whole numbers when they are). */
export const COUNT_COLUMNS = new Set(["support", "predicted", "tp", "fp", "fn"]);

/** The per-class columns both have, in `a`'s order; a row per class of either (runwatch.views.compare.per_class_comparison). */
export function comparePerClass(a: SplitDetail, b: SplitDetail): { columns: [string, string][]; rows: ClassComparison[] } {
  const inB = new Set((b.per_class_columns ?? CLASSIFICATION_COLUMNS).map(([c]) => c));
  const columns = (a.per_class_columns ?? CLASSIFICATION_COLUMNS).filter(([c]) => inB.has(c));
  const byLabel = (rows: SplitDetail["per_class"]) => new Map(rows.map((r) => [r.label, r]));
  const ra = byLabel(a.per_class);
  const rb = byLabel(b.per_class);
  const value = (r: SplitDetail["per_class"][number] | undefined, c: string): number | null => {
    const v = r?.[c];
    return typeof v === "number" ? v : null;
  };
  const labels = alignLabels(a.per_class.map((r) => r.label), b.per_class.map((r) => r.label));
  const rows = labels.map((label) => {
    const out: ClassComparison = { label, a: {}, b: {}, difference: {} };
    for (const [c] of columns) {
      out.a[c] = value(ra.get(label), c);
      out.b[c] = value(rb.get(label), c);
      out.difference[c] = difference(out.a[c], out.b[c]);
    }
    return out;
  });
  return { columns, rows };
}

/** A difference as text: signed, with the column's decimals; "—" when there is none. */
export function signed(v: number | null, text: string): string {
  if (v === null) return "\u2014";
  if (v > 0) return `+${text}`;
  // A minus sign as wide as the plus, whether the text has a hyphen or not (|v| given).
  return v < 0 ? `\u2212${text.replace(/^-/, "")}` : text;
}

function cell(tr: HTMLTableRowElement, text: string, cls = ""): HTMLTableCellElement {
  const td = tr.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function head(t: HTMLTableElement, titles: string[], numeric: boolean[]): void {
  const h = t.createTHead().insertRow();
  titles.forEach((text, i) => {
    const th = document.createElement("th");
    th.textContent = text;
    if (numeric[i]) th.className = "rw-num";
    h.appendChild(th);
  });
}

/** Sign class of a difference: what colours it (up, down, none). */
function tone(v: number | null): string {
  return v === null || v === 0 ? "rw-num" : v > 0 ? "rw-num rw-up" : "rw-num rw-down";
}

/** The metrics table with a column per iteration and their difference. */
export function compareMetricsTable(a: SplitDetail, b: SplitDetail, names: [string, string], primary: string): HTMLTableElement {
  const { groups, rows } = compareMetrics(a, b);
  const t = document.createElement("table");
  t.className = "rw-table rw-metrics rw-compare-metrics";
  head(t, ["Metric", names[0], names[1], `\u0394 (${names[0]} \u2212 ${names[1]})`], [false, true, true, true]);
  const all = [...rows.values()];
  // One number of decimals for the values of both columns, one for the differences.
  const values = columnFormat(all.flatMap((r) => [r.a, r.b]));
  const diffs = columnFormat(all.map((r) => (r.difference === null ? null : Math.abs(r.difference))));
  const body = t.createTBody();
  for (const g of groups) {
    const gr = body.insertRow();
    gr.className = "rw-group";
    const c = gr.insertCell();
    c.colSpan = 4;
    c.textContent = g.group;
    for (const name of g.metrics) {
      const r = rows.get(name);
      if (r === undefined) continue;
      const tr = body.insertRow();
      tr.className = "rw-metric-row";
      tr.dataset["metric"] = name;
      if (name === primary) tr.classList.add("rw-primary");
      cell(tr, name);
      cell(tr, formatNumber(r.a, values), "rw-num");
      cell(tr, formatNumber(r.b, values), "rw-num");
      const d = r.difference;
      cell(tr, signed(d, formatNumber(d === null ? null : Math.abs(d), diffs)), tone(d)).dataset["value"] = String(d);
    }
  }
  return t;
}

/** The per-class table with both iterations' values and the difference, per column. */
export function comparePerClassTable(a: SplitDetail, b: SplitDetail, names: [string, string]): HTMLTableElement {
  const { columns, rows } = comparePerClass(a, b);
  const t = document.createElement("table");
  t.className = "rw-table rw-per-class rw-compare-per-class";
  const titles = ["Class"];
  for (const [, heading] of columns) titles.push(`${heading} ${names[0]}`, `${heading} ${names[1]}`, `\u0394 ${heading}`);
  head(t, titles, titles.map((_, i) => i > 0));
  const formats = columns.map(([c]) => {
    const counts = COUNT_COLUMNS.has(c);
    const both = formatColumn(rows.flatMap((r) => [r.a[c] ?? null, r.b[c] ?? null]), counts);
    const diff = formatColumn(rows.map((r) => { const d = r.difference[c] ?? null; return d === null ? null : Math.abs(d); }), counts);
    return { both, diff };
  });
  const body = t.createTBody();
  rows.forEach((r, i) => {
    const tr = body.insertRow();
    tr.dataset["label"] = r.label;
    cell(tr, r.label);
    columns.forEach(([c], k) => {
      const f = formats[k];
      cell(tr, f?.both[2 * i] ?? "", "rw-num");
      cell(tr, f?.both[2 * i + 1] ?? "", "rw-num");
      const d = r.difference[c] ?? null;
      cell(tr, signed(d, f?.diff[i] ?? ""), tone(d)).dataset["value"] = String(d);
    });
  });
  return t;
}

/** Classes drawn in the difference matrix before it folds the rest into "(other)". */
export const COMPARE_TOP_K = 7;

/** Fill of a difference: blue where `a` has the larger share, orange where `b` has; white at 0. */
export function divergingFill(v: number, max: number): string {
  const t = max > 0 ? Math.min(1, Math.abs(v) / max) : 0;
  const [r, g, b] = v >= 0 ? [31, 119, 180] : [230, 120, 20];
  return `rgba(${r}, ${g}, ${b}, ${(0.85 * t).toFixed(3)})`;
}

/**
 * The difference of the two row-normalised matrices: every class when there
 * are few, else the classes of the largest changes with "(other)" columns;
 * diverging colours on a scale symmetric about 0.
 */
export function differenceMatrix(a: Confusion, b: Confusion, names: [string, string], all = false): HTMLElement {
  const full = matrixDifference(a, b);
  const m = all || full.labels.length <= COMPARE_TOP_K ? full : keepClasses(full, mostChanged(full.diff, COMPARE_TOP_K));
  const box = document.createElement("div");
  box.className = "rw-diff-matrix-wrap";
  const note = document.createElement("div");
  note.className = "rw-muted rw-diff-note";
  note.textContent = `Row-normalised ${names[0]} \u2212 ${names[1]}: blue, a larger share of the true class in ${names[0]}; orange, in ${names[1]}.`;
  const t = document.createElement("table");
  t.className = "rw-table rw-matrix rw-diff-matrix";
  const h = t.createTHead().insertRow();
  const corner = document.createElement("th");
  corner.className = "rw-corner";
  corner.textContent = "true \\ predicted";
  h.appendChild(corner);
  for (const l of m.labels) {
    const th = document.createElement("th");
    th.className = "rw-col-label";
    th.textContent = l;
    h.appendChild(th);
  }
  const folded = m !== full;
  let max = 0;
  for (const r of m.diff) for (const v of r) max = Math.max(max, Math.abs(v));
  const body = t.createTBody();
  m.diff.forEach((row, i) => {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.className = "rw-row-label";
    th.textContent = m.labels[i] ?? "";
    tr.appendChild(th);
    row.forEach((v, j) => {
      const td = tr.insertCell();
      const other = folded && j === m.labels.length - 1;
      td.className = "rw-cell rw-diff-cell";
      if (i === j) td.classList.add("rw-diag");
      if (other) td.classList.add("rw-other");
      td.textContent = signed(Math.abs(v) < 5e-3 ? 0 : v, Math.abs(v).toFixed(2));
      td.dataset["value"] = String(v);
      td.style.backgroundColor = divergingFill(v, max);
      if (max > 0 && Math.abs(v) / max > 0.6) td.classList.add("rw-dark");
      const t0 = m.labels[i] ?? "";
      const p0 = m.labels[j] ?? "";
      td.title = `true: ${t0}\npredicted: ${p0}\n${names[0]}: ${(m.a[i]?.[j] ?? 0).toFixed(3)}\n${names[1]}: ${(m.b[i]?.[j] ?? 0).toFixed(3)}\ndifference: ${v.toFixed(3)}`;
    });
  });
  box.append(note, t);
  if (folded) {
    const more = document.createElement("div");
    more.className = "rw-muted rw-diff-note";
    more.textContent = `${COMPARE_TOP_K} of ${full.labels.length} classes: those of the largest changes; (other) holds the rest of each row.`;
    box.append(more);
  }
  return box;
}

/** Curve charts drawn as one overlay of both iterations. */
export const OVERLAID = ["roc", "pr", "lift", "gains", "calibration"];

/** Dash of each iteration's lines: the shown one solid, the compared one dashed. */
export const ITERATION_DASHES: [number[], number[]] = [[1, 0], [5, 3]];

type Rec = Record<string, unknown>;

/**
 * The rows of a spec's inline data: objects as they are, or the CSV text the kernel
 * sends them as (widget/_spec_data.py), read with its declared types as vega reads it.
 */
export function dataRows(data: Rec | undefined): Rec[] {
  const values = data?.["values"];
  if (Array.isArray(values)) return values as Rec[];
  if (typeof values !== "string") return [];
  const format = (data?.["format"] as Rec | undefined) ?? { type: "csv" };
  return read(values, format as never) as Rec[];
}

/**
 * One curve chart of both iterations (the kernel's spec of `a`, with `b`'s rows
 * added): classes keep their colours, the iterations are told apart by dash (a
 * solid, b dashed, in a legend of their own), a hovered or picked class lights
 * both its lines. A class only `b` has comes after `a`'s in the legend and takes
 * the next colour of `b`'s own palette.
 */
export function overlaySpec(a: Spec, b: Spec, names: [string, string]): Spec {
  const out = JSON.parse(JSON.stringify(a)) as Rec;
  const data = out["data"] as Rec | undefined;
  const rowsA: Rec[] = dataRows(data).map((r) => ({ ...r, iteration: names[0] }));
  const rowsB: Rec[] = dataRows(b["data"] as Rec | undefined).map((r) => ({ ...r, iteration: names[1] }));
  if (data !== undefined) delete data["format"]; // the rows go back as objects
  const ranks = new Map<string, number>();
  for (const r of rowsA) ranks.set(String(r["series"]), Number(r["rank"]));
  let next = ranks.size === 0 ? 0 : Math.max(...ranks.values()) + 1;
  const extra = new Map<string, number>();
  for (const r of rowsB) {
    const s = String(r["series"]);
    if (ranks.has(s)) r["rank"] = ranks.get(s);
    else {
      if (!extra.has(s)) extra.set(s, next++);
      r["rank"] = extra.get(s);
    }
  }
  if (data !== undefined) data["values"] = [...rowsA, ...rowsB];
  const rangeOf = (spec: Rec): unknown[] => {
    for (const unit of (spec["layer"] as Rec[] | undefined) ?? []) {
      const range = (((unit["encoding"] as Rec | undefined)?.["color"] as Rec | undefined)?.["scale"] as Rec | undefined)?.["range"];
      if (Array.isArray(range)) return range;
    }
    return [];
  };
  const ra = rangeOf(out);
  const rb = rangeOf(b as Rec);
  const palette = [...ra, ...rb.filter((c) => !ra.includes(c))];
  for (const unit of (out["layer"] as Rec[] | undefined) ?? []) {
    const enc = unit["encoding"] as Rec | undefined;
    if (enc === undefined) continue;
    const color = enc["color"] as Rec | undefined;
    const scale = color?.["scale"] as Rec | undefined;
    if (scale !== undefined && Array.isArray(scale["range"])) scale["range"] = palette;
    if (enc["strokeDash"] !== undefined) {
      // The lines: one per class and iteration, dashed by iteration.
      enc["strokeDash"] = { field: "iteration", type: "nominal", scale: { domain: [...names], range: ITERATION_DASHES }, legend: { title: null, symbolType: "stroke", symbolStrokeColor: "#333", symbolStrokeWidth: 2 } };
    }
    const tooltip = enc["tooltip"];
    if (Array.isArray(tooltip)) enc["tooltip"] = [{ field: "iteration", type: "nominal", title: "iteration" }, ...tooltip];
    if (color !== undefined && enc["strokeDash"] === undefined && unit["mark"] !== undefined) {
      // Markers (calibration): the compared iteration's hollow.
      enc["fillOpacity"] = { field: "iteration", type: "nominal", scale: { domain: [...names], range: [1, 0] }, legend: null };
    }
  }
  const title = out["title"] as Rec | undefined;
  if (title !== undefined) title["text"] = `${String(title["text"] ?? "")}: ${names[0]} vs ${names[1]}`;
  return out;
}

/** The compare mode's styles (appended to style.ts's). */
export const COMPARE_CSS = `
.rw-row { user-select: none; }  /* a shift-click compares; it must not select text */
.rw-row.rw-compared, .rw-row.rw-compared:hover { background: #fde9d4; box-shadow: inset 3px 0 #e07b00; }
.rw-compare-bar { display: flex; gap: 10px; align-items: center; font-size: 12px; flex-wrap: wrap; }
.rw-compare-bar select { font-size: 12px; max-width: 260px; }
.rw-compare-clear { font-size: 12px; }
.rw-up { color: #1f5f99; }
.rw-down { color: #b35900; }
.rw-diff-note { font-size: 11px; margin: 2px 0 4px; max-width: 480px; }
.rw-diff-cell.rw-other { color: #555; font-style: italic; }
.rw-root:focus { outline: none; }
`;

/** The compare bar: a "compare with" picker (keyboard and touch) and, when comparing, a clear button. */
export function compareBar(rows: readonly { id: string; index: number; name: string }[], shown: string | null, compared: string | null, onPick: (id: string | null) => void): HTMLElement {
  const bar = document.createElement("div");
  bar.className = "rw-compare-bar";
  const label = document.createElement("label");
  label.className = "rw-compare-with";
  label.textContent = "compare with ";
  const select = document.createElement("select");
  select.className = "rw-compare-select";
  select.title = "Or shift-click a row of the table; Esc leaves compare mode";
  const none = document.createElement("option");
  none.value = "";
  none.textContent = "\u2014";
  select.append(none);
  for (const r of rows) {
    if (r.id === shown) continue;
    const o = document.createElement("option");
    o.value = r.id;
    o.textContent = `#${r.index}: ${r.name}`;
    select.append(o);
  }
  select.value = compared ?? "";
  select.addEventListener("change", () => onPick(select.value === "" ? null : select.value));
  label.append(select);
  bar.append(label);
  if (compared !== null) {
    const clear = document.createElement("button");
    clear.type = "button";
    clear.className = "rw-compare-clear";
    clear.textContent = "Stop comparing (Esc)";
    clear.addEventListener("click", () => onPick(null));
    bar.append(clear);
  }
  return bar;
}

/**
 * Overlay specs, kept while their inputs are the same objects: the chart grid
 * redraws only when a spec changes, and a new overlay object each time the
 * detail is drawn would recompile every chart.
 */
export class OverlayCache {
  private kept = new Map<string, { a: Spec; b: Spec; key: string; spec: Spec }>();

  get(name: string, a: Spec, b: Spec, names: [string, string]): Spec {
    const key = names.join("\u0000");
    const hit = this.kept.get(name);
    if (hit !== undefined && hit.a === a && hit.b === b && hit.key === key) return hit.spec;
    const spec = overlaySpec(a, b, names);
    this.kept.set(name, { a, b, key, spec });
    return spec;
  }
}
