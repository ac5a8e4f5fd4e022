// "By attribute" and "Attribute importance": the rows of the by-attribute chart
// for the picked attribute, metric and the matrix's classes (pure, tested in
// node; the same rows as runwatch.views.attributes.by_attribute_rows), and the
// panel that draws them with the kernel's spec. Names stay data: text goes in
// with textContent, labels only into the chart's rows.
import type { Result } from "vega-embed";
import { drawSpec } from "./charts";
import { formatNumber, columnFormat } from "./format";
import type { AttributeBuckets, FailureDetail, Spec } from "./model";

/** The bucket metrics a chart can show, as runwatch.views.attributes.BUCKET_METRICS, then
 * VISION_BUCKET_METRICS (a table offers those it has values for). */
export const BUCKET_METRICS: [string, string][] = [
  ["recall_macro", "recall (macro)"],
  ["precision_macro", "precision (macro)"],
  ["f1_macro", "F1 (macro)"],
  ["accuracy", "accuracy"],
  ["log_loss", "log loss"],
  ["mAP", "mAP"],
  ["mAP_50", "mAP@0.5"],
  ["f1", "F1 at the threshold"],
  ["precision", "precision at the threshold"],
  ["recall", "recall at the threshold"],
  ["mean_iou", "mean IoU"],
  ["pixel_accuracy", "pixel accuracy"],
];

/** Per-class recall lines drawn at the most (views.attributes.MAX_CLASS_LINES). */
export const MAX_CLASS_LINES = 20;

/** One row of the chart's named data "by_attribute". */
export interface AttributeRow {
  bucket: string;
  order: number;
  lo: number | null;
  hi: number | null;
  count: number;
  line: boolean;
  series: string;
  overall: boolean;
  value: number | null;
}

function metricTitle(metric: string): string {
  return BUCKET_METRICS.find(([m]) => m === metric)?.[1] ?? metric;
}

/**
 * The chart's rows: the metric per bucket (the "overall" series), then the
 * recall of each of `classes` (the matrix's shown classes that are classes of
 * `labels`, at most MAX_CLASS_LINES) per bucket.
 */
export function attributeRows(table: AttributeBuckets, labels: readonly string[], metric: string, classes: readonly string[]): AttributeRow[] {
  const line = table.kind === "numeric";
  const base = table.buckets.map((bucket, order) => ({
    bucket,
    order,
    lo: table.lo[order] ?? null,
    hi: table.hi[order] ?? null,
    count: table.count[order] ?? 0,
    line,
  }));
  const values = table.metrics[metric] ?? [];
  const rows: AttributeRow[] = base.map((b, i) => ({ ...b, series: metricTitle(metric), overall: true, value: values[i] ?? null }));
  const shown = classes.filter((c) => labels.includes(c)).slice(0, MAX_CLASS_LINES);
  for (const c of shown) {
    const recall = table.recall[labels.indexOf(c)] ?? [];
    for (const [i, b] of base.entries()) rows.push({ ...b, series: c, overall: false, value: recall[i] ?? null });
  }
  return rows;
}

/** A copy of the kernel's spec with `rows` as its named data "by_attribute". */
export function withRows(spec: Spec, rows: AttributeRow[]): Spec {
  const data = (spec["data"] as Record<string, unknown> | undefined) ?? { name: "by_attribute" };
  return { ...spec, data: { ...data, values: rows } };
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function select(cls: string, title: string, choices: [string, string][], value: string, onChange: (v: string) => void): HTMLLabelElement {
  const label = el("label", cls, `${title} `);
  const s = document.createElement("select");
  for (const [v, text] of choices) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = text;
    s.appendChild(o);
  }
  s.value = value;
  s.addEventListener("change", () => onChange(s.value));
  label.appendChild(s);
  return label;
}

/** The bucket table beside the chart: bucket, samples, the metric (one number of decimals). */
function bucketTable(table: AttributeBuckets, metric: string): HTMLTableElement {
  const t = el("table", "rw-table rw-buckets");
  const head = t.createTHead().insertRow();
  for (const [text, num] of [["Bucket", false], ["Samples", true], [metricTitle(metric), true]] as const) {
    const th = document.createElement("th");
    th.textContent = text;
    if (num) th.className = "rw-num";
    head.appendChild(th);
  }
  const values = table.metrics[metric] ?? [];
  const format = columnFormat(values);
  const body = t.createTBody();
  table.buckets.forEach((b, i) => {
    const tr = body.insertRow();
    tr.insertCell().textContent = b;
    const n = tr.insertCell();
    n.className = "rw-num";
    n.textContent = String(table.count[i] ?? 0);
    const v = tr.insertCell();
    v.className = "rw-num";
    v.textContent = formatNumber(values[i] ?? null, format);
  });
  return t;
}

/** What a person picked, kept across detail redraws and iterations. */
export interface AttributeChoice {
  byAttribute?: string;
  bucketMetric?: string;
}

/** The "By attribute" and "Attribute importance" panels of the shown split. */
export class FailurePanels {
  readonly byAttribute: HTMLElement;
  readonly importance: HTMLElement;
  private data: FailureDetail | null = null;
  private classes: string[] = [];
  private drawnKey = "";
  private importanceSpec: Spec | null = null;
  private chart: Promise<Result | null> | null = null;
  private importanceChart: Promise<Result | null> | null = null;

  constructor(private choice: AttributeChoice = {}) {
    this.byAttribute = el("div", "rw-panel rw-by-attribute");
    this.importance = el("div", "rw-panel rw-attribute-importance");
  }

  /** The shown split's failure data; drawn by the next `draw` (or `setClasses`). */
  setData(data: FailureDetail | null): void {
    this.data = data;
  }

  /** The matrix's shown classes changed (its mode or class filter). */
  setClasses(classes: readonly string[]): void {
    if (classes.join("\u0000") === this.classes.join("\u0000")) return;
    this.classes = [...classes];
    if (this.data !== null) this.draw();
  }

  /** Draw what changed since the last draw (nothing when nothing did). */
  draw(): void {
    const data = this.data;
    const tables = data?.attributes ?? [];
    if (data === null || tables.length === 0) {
      this.drawnKey = "";
      this.drawnData = null;
      this.byAttribute.hidden = this.importance.hidden = true;
      return;
    }
    this.byAttribute.hidden = this.importance.hidden = false;
    const names = tables.map((t) => t.name);
    const name = this.choice.byAttribute !== undefined && names.includes(this.choice.byAttribute) ? this.choice.byAttribute : (names[0] ?? "");
    const table = tables.find((t) => t.name === name) ?? tables[0]!;
    const metrics = BUCKET_METRICS.filter(([m]) => (table.metrics[m] ?? []).some((v) => v !== null));
    const metric = metrics.some(([m]) => m === this.choice.bucketMetric) ? this.choice.bucketMetric! : (metrics[0]?.[0] ?? "recall_macro");
    // Per-class lines are recalls: drawn beside the recall only.
    const classes = metric === "recall_macro" ? this.classes : [];
    const key = JSON.stringify([name, metric, classes, tables.length, table.count]);
    if (key === this.drawnKey && data === this.drawnData) return;
    this.drawnKey = key;
    this.drawnData = data;
    const controls = el("div", "rw-controls");
    controls.append(
      select("rw-attribute-pick", "Attribute", names.map((n) => [n, n]), name, (v) => {
        this.choice.byAttribute = v;
        this.draw();
      }),
      select("rw-bucket-metric", "Metric", metrics, metric, (v) => {
        this.choice.bucketMetric = v;
        this.draw();
      }),
    );
    const note = el("div", "rw-muted rw-attribute-note");
    const hidden = this.classes.length - Math.min(this.classes.length, MAX_CLASS_LINES);
    note.textContent =
      data.labels.length === 0
        ? "Each bucket holds images; its metric is computed over them alone."
        : metric === "recall_macro"
          ? `Lines: recall of the classes the matrix shows${hidden > 0 ? ` (first ${MAX_CLASS_LINES})` : ""}.`
          : "Per-class lines are drawn with the recall.";
    const plot = el("div", "rw-chart rw-chart-by_attribute");
    const body = el("div", "rw-attribute-body");
    body.append(plot, bucketTable(table, metric));
    this.byAttribute.replaceChildren(el("h4", "", "By attribute"), controls, note, body);
    const old = this.chart;
    void old?.then((r) => r?.finalize());
    this.chart =
      data.chart === null
        ? null
        : drawSpec(plot, withRows(data.chart, attributeRows(table, data.labels, metric, classes))).catch((e: unknown) => {
            plot.textContent = `Chart failed: ${String(e)}`;
            return null;
          });
    if (data.importance !== this.importanceSpec) {
      this.importanceSpec = data.importance;
      void this.importanceChart?.then((r) => r?.finalize());
      const box = el("div", "rw-chart rw-chart-attribute_importance");
      this.importance.replaceChildren(box); // the chart's own title names it
      this.importanceChart =
        data.importance === null
          ? null
          : drawSpec(box, data.importance).catch((e: unknown) => {
              box.textContent = `Chart failed: ${String(e)}`;
              return null;
            });
    }
  }

  private drawnData: FailureDetail | null = null;

  clear(): void {
    void this.chart?.then((r) => r?.finalize());
    void this.importanceChart?.then((r) => r?.finalize());
    this.chart = this.importanceChart = null;
  }
}
