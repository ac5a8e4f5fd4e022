// The detail panels of the selected iteration: split selector, metrics table,
// per-class table, and what an iteration without predictions says. Text goes in
// with textContent only.
import { columnFormat, formatColumn, formatNumber } from "./format";
import { SPLITS, type Detail, type SplitDetail } from "./model";

/** The split to show: the wanted one when the detail has it, else the first present (validation first). */
export function pickSplit(detail: Detail | undefined, wanted: string): string | null {
  if (detail === undefined) return null;
  const present = Object.keys(detail.splits);
  if (present.includes(wanted)) return wanted;
  for (const s of ["validation", "test", "train"]) if (present.includes(s)) return s;
  return present[0] ?? null;
}

function table(cls: string, head: string[], rows: string[][], numeric: boolean[]): HTMLTableElement {
  const t = document.createElement("table");
  t.className = `rw-table ${cls}`;
  const h = t.createTHead().insertRow();
  head.forEach((text, i) => {
    const th = document.createElement("th");
    th.textContent = text;
    if (numeric[i]) th.className = "rw-num";
    h.appendChild(th);
  });
  const b = t.createTBody();
  for (const row of rows) {
    const tr = b.insertRow();
    row.forEach((text, i) => {
      const td = tr.insertCell();
      td.textContent = text;
      if (numeric[i]) td.className = "rw-num";
    });
  }
  return t;
}

/** Statuses of an iteration that has ended: nothing more will be logged to it. */
export const ENDED: readonly string[] = ["completed", "failed", "canceled", "interrupted"];

/**
 * What the detail says of an iteration with no predictions in any split (so
 * no metrics and no charts of them): "yet" while it runs; once it has ended,
 * that none were, and where its loss is when it has one (not "charts appear
 * when the iteration has finished": none will).
 * Same sentences as the static summary's (runwatch.widget._static.no_predictions).
 */
export function noPredictions(status: string, hasLosses: boolean): string {
  if (!ENDED.includes(status)) return "No predictions logged for this iteration yet.";
  return hasLosses
    ? "No predictions were logged for this iteration; its loss is charted below."
    : "No predictions were logged for this iteration.";
}

/** The split selector: one button per split of the detail. */
export function splitSelector(detail: Detail | undefined, current: string | null, onPick: (s: string) => void): HTMLElement {
  const bar = document.createElement("div");
  bar.className = "rw-splits";
  bar.setAttribute("role", "tablist");
  const present = detail === undefined ? [] : SPLITS.filter((s) => s in detail.splits);
  for (const s of present) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "rw-split";
    b.dataset["split"] = s;
    b.textContent = s;
    b.setAttribute("aria-selected", String(s === current));
    if (s === current) b.classList.add("rw-active");
    b.addEventListener("click", () => onPick(s));
    bar.appendChild(b);
  }
  return bar;
}

/** The iteration's parameters, "name = value", as text (a name may be any string). */
export function paramList(params: [string, string][]): HTMLElement {
  const box = document.createElement("div");
  box.className = "rw-params";
  for (const [name, value] of params) {
    const item = document.createElement("span");
    item.className = "rw-param";
    item.title = `${name} = ${value}`; // the whole of a value cut short on screen
    const key = document.createElement("span");
    key.className = "rw-param-name";
    key.textContent = name;
    item.append(key, document.createTextNode(` = ${value}`));
    box.append(item);
  }
  return box;
}

/**
 * The metrics of a split by kind (threshold-free, label, binary, ...; the
 * kernel's `groups`), the primary metric's group first with it on top; an
 * undefined value shows "—" and its reason on hover. Every value prints
 * with the same decimals (format.ts columnFormat).
 */
export function metricsTable(split: SplitDetail, primary: string): HTMLTableElement {
  const groups = (split.groups ?? []).length > 0 ? split.groups : [{ group: "metrics", metrics: Object.keys(split.metrics).sort() }];
  const t = table("rw-metrics", ["Metric", "Value"], [], [false, true]);
  const body = t.tBodies[0] ?? t.createTBody();
  // One column: every value with the same decimals, whichever group it is in.
  const format = columnFormat(groups.flatMap((g) => g.metrics.map((name) => split.metrics[name])));
  for (const g of groups) {
    const head = body.insertRow();
    head.className = "rw-group";
    const cell = head.insertCell();
    cell.colSpan = 2;
    cell.textContent = g.group;
    for (const name of g.metrics) {
      const tr = body.insertRow();
      tr.className = "rw-metric-row";
      tr.dataset["metric"] = name;
      if (name === primary) tr.classList.add("rw-primary");
      const n = tr.insertCell();
      n.textContent = name;
      const v = tr.insertCell();
      v.className = "rw-num";
      v.textContent = formatNumber(split.metrics[name], format);
      const reason = (split.reasons ?? {})[name];
      if (reason !== undefined) v.title = reason;
    }
  }
  return t;
}

/** The per-class columns of classification, for a payload that does not list its own. */
const CLASSIFICATION_COLUMNS: [string, string][] = [
  ["precision", "Precision"],
  ["recall", "Recall"],
  ["f1", "F1"],
  ["support", "Support"],
];

/** Columns that count (samples, boxes, pixels): whole numbers print as integers. */
const COUNT_COLUMNS = new Set(["support", "predicted", "tp", "fp", "fn"]);

/**
 * The per-class table: a row per class, a column per `per_class_columns` entry
 * (classification: precision, recall, F1, support; detection: AP, AP50, ...;
 * segmentation: IoU, ...), each column printing with one number of decimals.
 */
export function perClassTable(split: SplitDetail): HTMLTableElement {
  const rows = split.per_class;
  const shown = split.per_class_columns ?? CLASSIFICATION_COLUMNS;
  const columns = shown.map(([name]) =>
    formatColumn(
      rows.map((r) => {
        const v = r[name];
        return typeof v === "number" ? v : null;
      }),
      COUNT_COLUMNS.has(name),
    ),
  );
  return table(
    "rw-per-class",
    ["Class", ...shown.map(([, heading]) => heading)],
    rows.map((r, i) => [r.label, ...columns.map((c) => c[i] ?? "")]),
    [false, ...shown.map(() => true)],
  );
}
