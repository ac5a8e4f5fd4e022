// The confusion matrix: which classes to show (most confused / most common,
// top 7), the rest folded into "(other)" so no count disappears, raw / row /
// column normalisation (all pure, tested in node), and the HTML table.
import { columnFormat, formatNumber } from "./format";
import type { ViewMemory } from "./memory";
import type { Confusion } from "./model";

/** Name of the folded row and column. */
export const OTHER = "(other)";
/** How many classes the modes pick. */
export const TOP_K = 7;

export type Mode = "confused" | "common" | "all" | "pick";
/** Fill of the "(other)" cells (runwatch.views.confusion's): outside the colour scale. */
export const OTHER_FILL = "#e8e8e8";
export type Norm = "raw" | "row" | "column";

/** Sum of every cell. */
export function total(matrix: readonly (readonly number[])[]): number {
  let s = 0;
  for (const row of matrix) for (const v of row) s += v;
  return s;
}

function rowSums(m: readonly (readonly number[])[]): number[] {
  return m.map((r) => r.reduce((a, b) => a + b, 0));
}

function colSums(m: readonly (readonly number[])[]): number[] {
  const out = new Array<number>(m[0]?.length ?? 0).fill(0);
  for (const r of m) r.forEach((v, j) => (out[j] = (out[j] ?? 0) + v));
  return out;
}

/** Order of indices by descending value, ties in index order. */
function ranked(values: readonly number[]): number[] {
  return values.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map((p) => p[1]);
}

/** The `k` classes with the most true samples (row sums), largest first. */
/** The matrix's rows, whichever form it came in (dense rows or non-zero cells). */
export function denseCounts(matrix: Confusion): number[][] {
  if (matrix.counts !== null && matrix.counts !== undefined) return matrix.counts;
  const n = matrix.labels.length;
  const counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (const [i, j, v] of matrix.cells ?? []) {
    const row = counts[i];
    if (row !== undefined && j >= 0 && j < n) row[j] = v;
  }
  return counts;
}

export function mostCommon(counts: readonly (readonly number[])[], k: number = TOP_K, skip: ReadonlySet<number> = new Set()): number[] {
  return ranked(rowSums(counts))
    .filter((i) => !skip.has(i))
    .slice(0, k);
}

/**
 * The `k` classes involved in the largest off-diagonal counts: cells largest
 * first (ties row-major), each adds its true then its predicted class; when
 * fewer than `k` are ever confused the most common fill up. Same rule as
 * `runwatch.views.most_confused_classes`.
 */
export function mostConfused(counts: readonly (readonly number[])[], k: number = TOP_K, skip: ReadonlySet<number> = new Set()): number[] {
  const n = counts.length;
  const cells: [number, number, number][] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const v = counts[i]?.[j] ?? 0;
      if (i !== j && v > 0) cells.push([v, i, j]);
    }
  cells.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
  const chosen: number[] = [];
  for (const [, i, j] of cells) {
    if (chosen.length >= k) break;
    for (const c of [i, j]) if (!skip.has(c) && !chosen.includes(c) && chosen.length < k) chosen.push(c);
  }
  for (const c of mostCommon(counts, n, skip)) {
    if (chosen.length >= k) break;
    if (!chosen.includes(c)) chosen.push(c);
  }
  return chosen;
}

/** A matrix reduced to some classes plus, when any class was left out, an "(other)" row and column. */
export interface Folded {
  labels: string[];
  matrix: number[][];
  /** Whether the last row and column are "(other)". */
  other: boolean;
}

/**
 * Keep the classes at indices `keep` (shown in matrix order) and fold every
 * other class into one "(other)" row and column: totals, row sums of kept
 * classes and column sums of kept classes are preserved.
 */
export function fold(counts: readonly (readonly number[])[], labels: readonly string[], keep: Iterable<number>): Folded {
  const kept = [...new Set(keep)].filter((i) => i >= 0 && i < labels.length).sort((a, b) => a - b);
  const slot = new Array<number>(labels.length).fill(kept.length);
  kept.forEach((i, s) => (slot[i] = s));
  const other = kept.length < labels.length;
  const size = kept.length + (other ? 1 : 0);
  const matrix = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  counts.forEach((row, i) =>
    row.forEach((v, j) => {
      const r = matrix[slot[i] ?? kept.length];
      const c = slot[j] ?? kept.length;
      if (r !== undefined) r[c] = (r[c] ?? 0) + v;
    }),
  );
  const out = kept.map((i) => labels[i] ?? "");
  if (other) out.push(OTHER);
  return { labels: out, matrix, other };
}

/**
 * Which classes a mode shows; "pick" shows the classes of `labels` named in
 * `picked` (the class filter), in matrix order.
 */
export function selectClasses(
  counts: readonly (readonly number[])[],
  mode: Mode,
  k: number = TOP_K,
  labels: readonly string[] = [],
  picked: ReadonlySet<string> = new Set(),
  pinned: readonly number[] = [],
): number[] {
  if (mode === "pick") return labels.flatMap((l, i) => (picked.has(l) ? [i] : []));
  const fixed = new Set(pinned.filter((i) => i >= 0 && i < counts.length));
  if (mode === "all" || counts.length - fixed.size <= k) return counts.map((_, i) => i);
  const top = mode === "confused" ? mostConfused(counts, k, fixed) : mostCommon(counts, k, fixed);
  return [...top, ...fixed];
}

/** Tasks whose matrix has a "background" row and column (runwatch.metrics.detection.BACKGROUND). */
const BACKGROUND_TASKS = ["detection", "instance_segmentation"];

/**
 * The rows always shown beside the top-k: a detector's "background" (its
 * missed objects and spurious boxes, never folded into "(other)"), none for
 * other tasks. Same rule as the static summary's (widget/_static_tables.py).
 */
export function pinnedRows(task: string, labels: readonly string[]): number[] {
  const last = labels.length - 1;
  return BACKGROUND_TASKS.includes(task) && labels[last] === "background" ? [last] : [];
}

/**
 * The top of the colour scale: the largest value outside the "(other)" row and
 * column (they are grey), so the big (other)-(other) count does not wash out
 * the shown classes' cells. Same rule as runwatch.views.confusion_chart.
 */
export function scaleMax(shown: readonly (readonly number[])[], other: boolean): number {
  const last = shown.length - 1;
  let max = 0;
  shown.forEach((r, i) =>
    r.forEach((v, j) => {
      if (!(other && (i === last || j === last))) max = Math.max(max, v);
    }),
  );
  return max;
}

/** Raw counts, or each row / column divided by its sum (an empty one stays 0). */
export function normalise(matrix: readonly (readonly number[])[], norm: Norm): number[][] {
  if (norm === "raw") return matrix.map((r) => [...r]);
  const rows = rowSums(matrix);
  const cols = colSums(matrix);
  return matrix.map((r, i) =>
    r.map((v, j) => {
      const d = norm === "row" ? (rows[i] ?? 0) : (cols[j] ?? 0);
      return d > 0 ? v / d : 0;
    }),
  );
}

function pct(v: number, d: number): string {
  return d > 0 ? `${((100 * v) / d).toFixed(1)}%` : "\u2014";
}

/**
 * The cells' text: counts as the page's count columns print them (whole
 * numbers as integers, weighted ones with one number of decimals for the
 * whole matrix), normalised values with 2 decimals.
 */
export function cellTexts(matrix: readonly (readonly number[])[], shown: readonly (readonly number[])[], norm: Norm): string[][] {
  if (norm !== "raw") return shown.map((r) => r.map((v) => v.toFixed(2)));
  const cells: number[] = []; // not matrix.flat(): 5x slower on 100 classes
  for (const r of matrix) for (const v of r) cells.push(v);
  const format = columnFormat(cells, true);
  return matrix.map((r) => r.map((v) => formatNumber(v, format)));
}

export interface ConfusionOptions {
  onCell: (cell: [string, string]) => void;
  /** Where the mode, normalisation and picked classes are kept for the widget's next view. */
  memory?: ViewMemory;
  /** Told the classes the matrix shows ("(other)" left out) each time it draws. */
  onShown?: (labels: string[]) => void;
}

/** The confusion-matrix panel of one view: mode and normalisation pickers, then the table. */
export class ConfusionPanel {
  readonly el: HTMLElement;
  mode: Mode = "confused";
  norm: Norm = "raw";
  /** The class filter's picks (mode "pick"); starts as the classes shown when it was opened. */
  picked: Set<string> | null = null;
  private data: Confusion | null = null;
  private counts: number[][] = []; // data's rows, dense
  private selected: [string, string] | null = null;
  private pinned: readonly number[] = [];
  private body: HTMLElement;
  private filter: HTMLElement;
  private filterFor = "";

  constructor(private options: ConfusionOptions) {
    const memory = options.memory;
    this.mode = memory?.mode ?? this.mode;
    this.norm = memory?.norm ?? this.norm;
    this.picked = memory?.picked ? new Set(memory.picked) : null;
    this.el = document.createElement("div");
    this.el.className = "rw-confusion";
    const controls = document.createElement("div");
    controls.className = "rw-controls";
    controls.append(
      picker("rw-mode", "Classes", [["confused", "Most confused"], ["common", "Most common"], ["all", "All"], ["pick", "Pick\u2026"]], this.mode, (v) => {
        const before = this.mode;
        this.mode = v as Mode;
        if (this.mode === "pick" && this.picked === null && this.data !== null) {
          const shown = selectClasses(this.counts, before === "pick" ? "confused" : before, TOP_K, [], new Set(), this.pinned);
          this.picked = new Set(shown.map((i) => this.data?.labels[i] ?? ""));
        }
        this.filterFor = "";
        this.remember();
        this.draw();
      }),
      picker("rw-norm", "Values", [["raw", "Counts"], ["row", "Row-normalised"], ["column", "Column-normalised"]], this.norm, (v) => {
        this.norm = v as Norm;
        this.remember();
        this.draw();
      }),
    );
    this.body = document.createElement("div");
    this.filter = document.createElement("div");
    this.filter.className = "rw-class-filter";
    this.el.append(controls, this.filter, this.body);
  }

  private remember(): void {
    const memory = this.options.memory;
    if (memory === undefined) return;
    memory.mode = this.mode;
    memory.norm = this.norm;
    memory.picked = this.picked === null ? null : [...this.picked];
  }

  /** The class filter: one checkbox per class (shown in mode "pick"). */
  private drawFilter(labels: readonly string[]): void {
    const key = this.mode === "pick" ? labels.join("\u0000") : "";
    if (key === this.filterFor) return;
    this.filterFor = key;
    if (this.mode !== "pick") {
      this.filter.replaceChildren();
      return;
    }
    const picked = (this.picked ??= new Set());
    this.filter.replaceChildren(
      ...labels.map((l) => {
        const item = document.createElement("label");
        item.className = "rw-class-option";
        const box = document.createElement("input");
        box.type = "checkbox";
        box.value = l;
        box.checked = picked.has(l);
        box.addEventListener("change", () => {
          if (box.checked) picked.add(l);
          else picked.delete(l);
          this.remember();
          this.draw();
        });
        item.append(box, document.createTextNode(l));
        return item;
      }),
    );
  }

  /** Show `data` of a run of `task`: a detector's background row and column stay out of "(other)". */
  update(data: Confusion | null, selected: [string, string] | null, task = ""): void {
    this.data = data;
    this.counts = data === null ? [] : denseCounts(data);
    this.selected = selected;
    this.pinned = data === null ? [] : pinnedRows(task, data.labels);
    this.draw();
  }

  private draw(): void {
    const data = this.data;
    this.drawFilter(data?.labels ?? []);
    if (data === null || data.labels.length === 0) {
      const p = document.createElement("p");
      p.className = "rw-empty";
      p.textContent = "No predictions yet.";
      this.body.replaceChildren(p);
      return;
    }
    const counts = this.counts;
    const f = fold(counts, data.labels, selectClasses(counts, this.mode, TOP_K, data.labels, this.picked ?? new Set(), this.pinned));
    this.options.onShown?.(f.other ? f.labels.slice(0, -1) : f.labels);
    const shown = normalise(f.matrix, this.norm);
    const rows = rowSums(f.matrix);
    const cols = colSums(f.matrix);
    const max = scaleMax(shown, f.other);
    const countTexts = cellTexts(f.matrix, shown, "raw");
    const texts = this.norm === "raw" ? countTexts : cellTexts(f.matrix, shown, this.norm);
    const table = document.createElement("table");
    table.className = "rw-table rw-matrix";
    const head = table.createTHead().insertRow();
    const corner = document.createElement("th");
    corner.className = "rw-corner";
    corner.textContent = "true \\ predicted";
    head.appendChild(corner);
    for (const label of f.labels) {
      const th = document.createElement("th");
      th.className = "rw-col-label";
      th.textContent = label;
      head.appendChild(th);
    }
    const body = table.createTBody();
    f.matrix.forEach((row, i) => {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.className = "rw-row-label";
      th.textContent = f.labels[i] ?? "";
      tr.appendChild(th);
      row.forEach((count, j) => {
        const td = tr.insertCell();
        const value = shown[i]?.[j] ?? 0;
        const t = f.labels[i] ?? "";
        const p = f.labels[j] ?? "";
        td.className = "rw-cell";
        if (i === j && !(f.other && i === f.labels.length - 1)) td.classList.add("rw-diag");
        td.textContent = texts[i]?.[j] ?? "";
        td.title = `true: ${t}\npredicted: ${p}\ncount: ${countTexts[i]?.[j] ?? ""}\n${pct(count, rows[i] ?? 0)} of true ${t}\n${pct(count, cols[j] ?? 0)} of predicted ${p}`;
        const isOther = f.other && (i === f.labels.length - 1 || j === f.labels.length - 1);
        if (isOther) {
          td.classList.add("rw-other");
          td.style.backgroundColor = OTHER_FILL;
        } else {
          const alpha = max > 0 ? Math.min(1, value / max) : 0;
          td.style.backgroundColor = `rgba(31, 119, 180, ${(0.08 + 0.82 * alpha).toFixed(3)})`;
          if (alpha > 0.55) td.classList.add("rw-dark");
          td.classList.add("rw-clickable");
          if (this.selected !== null && this.selected[0] === t && this.selected[1] === p) td.classList.add("rw-cell-selected");
          td.addEventListener("click", () => this.options.onCell([t, p]));
        }
      });
    });
    this.body.replaceChildren(table);
  }
}

function picker(cls: string, title: string, choices: [string, string][], value: string, onChange: (v: string) => void): HTMLElement {
  const label = document.createElement("label");
  label.className = cls;
  label.textContent = `${title} `;
  const select = document.createElement("select");
  for (const [v, text] of choices) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = text;
    select.appendChild(o);
  }
  select.value = value;
  select.addEventListener("change", () => onChange(select.value));
  label.appendChild(select);
  return label;
}
