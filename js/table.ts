// The iterations table: sortable by any column, best row highlighted,
// click or arrow keys to select. `sortRows` is pure (tested in node).
import { columnFormat, displayText, formatDuration, formatNumber, type ColumnFormat } from "./format";
import type { ViewMemory } from "./memory";
import type { IterationRow } from "./model";

export type SortKey = "index" | "name" | "status" | "duration" | "metric" | "best";
export type Direction = "asc" | "desc";

export interface Sort {
  key: SortKey;
  dir: Direction;
}

const COLUMNS: { key: SortKey; title: string; numeric: boolean }[] = [
  { key: "index", title: "#", numeric: true },
  { key: "name", title: "Iteration", numeric: false },
  { key: "status", title: "Status", numeric: false },
  { key: "duration", title: "Duration", numeric: true },
  { key: "metric", title: "metric", numeric: true },
  { key: "best", title: "Best so far", numeric: true },
];

/**
 * Rows sorted by `sort.key`: numbers numerically, text by locale; missing
 * values (null, NaN) last in either direction; ties in run order. Returns a
 * new array.
 */
export function sortRows(rows: readonly IterationRow[], sort: Sort): IterationRow[] {
  const sign = sort.dir === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[sort.key];
    const y = b[sort.key];
    const xMissing = x === null || (typeof x === "number" && Number.isNaN(x));
    const yMissing = y === null || (typeof y === "number" && Number.isNaN(y));
    if (xMissing || yMissing) {
      if (xMissing && yMissing) return a.index - b.index;
      return xMissing ? 1 : -1;
    }
    let c: number;
    if (typeof x === "number" && typeof y === "number") c = x - y;
    else c = String(x).localeCompare(String(y));
    return c !== 0 ? sign * c : a.index - b.index;
  });
}

/** The next sort after a click on column `key`: toggles direction, numbers start descending. */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, dir: current.dir === "asc" ? "desc" : "asc" };
  const numeric = COLUMNS.find((c) => c.key === key)?.numeric ?? false;
  return { key, dir: numeric && key !== "index" ? "desc" : "asc" };
}

/** The id `step` rows away from `current` in `order` (clamped), for arrow keys. */
export function moveSelection(
  order: readonly IterationRow[],
  current: string | null,
  step: number,
): string | null {
  if (order.length === 0) return null;
  const at = order.findIndex((r) => r.id === current);
  const next = at < 0 ? 0 : Math.min(order.length - 1, Math.max(0, at + step));
  return order[next]?.id ?? null;
}

/**
 * The format of the metric and best-so-far columns, over every row (drawn or
 * not): one number of decimals for both, as they hold the same metric.
 */
export function metricFormat(rows: readonly IterationRow[]): ColumnFormat {
  return columnFormat(rows.flatMap((r) => [r.metric, r.best]));
}

function cellText(row: IterationRow, key: SortKey, format: ColumnFormat): string {
  switch (key) {
    case "index":
      return String(row.index);
    case "name":
      return displayText(row.name);
    case "status":
      return displayText(row.status);
    case "duration":
      return formatDuration(row.duration);
    case "metric":
      return formatNumber(row.metric, format);
    case "best":
      return formatNumber(row.best, format);
  }
}

export interface TableOptions {
  metricName: string;
  /** A row picked: clicked (`shift`: shift-clicked, to compare it) or reached by the arrow keys. */
  onSelect: (id: string, shift?: boolean) => void;
  /** Where the sort and "Show all" are kept for the next view of the widget. */
  memory?: ViewMemory;
}

/** Rows drawn before "show all": laying out 1,000 rows costs a first render ~150 ms. */
export const PAGE_ROWS = 100;

/**
 * The rows to draw, in `order`: the first page, and the selected row after it
 * when it is further down (a best iteration late in a long run stays in view;
 * arrow keys walk on from it), or every row.
 */
export function visibleRows(order: readonly IterationRow[], selected: string | null, showAll: boolean): IterationRow[] {
  if (showAll || order.length <= PAGE_ROWS) return [...order];
  const page = order.slice(0, PAGE_ROWS);
  const at = order.findIndex((r) => r.id === selected);
  const picked = order[at];
  if (at >= PAGE_ROWS && picked !== undefined) page.push(picked);
  return page;
}

/** What a drawn row shows: a row is rebuilt only when this changes (the columns' decimals included). */
function rowKey(row: IterationRow, selected: string | null, format: ColumnFormat, compared: string | null = null): string {
  return JSON.stringify([row.index, row.name, row.status, row.duration, row.metric, row.best, row.is_best, row.id === selected, row.id === compared, format]);
}

/**
 * The iterations table of one view. `update` redraws only what changed: rows
 * are kept by id and rebuilt when what they show changes, so a batch that
 * only brings details leaves the table (and a click in progress) alone, and
 * a run of 1,000 iterations costs one rebuilt row per changed iteration.
 */
export class IterationsTable {
  readonly el: HTMLElement;
  private sort: Sort = { key: "index", dir: "asc" };
  private rows: IterationRow[] = [];
  private selected: string | null = null;
  private compared: string | null = null;
  private order: IterationRow[] = [];
  private table: HTMLTableElement | null = null;
  private body: HTMLTableSectionElement | null = null;
  private drawn = new Map<string, { key: string; tr: HTMLTableRowElement }>();
  private headKey = "";
  private showAll = false;
  private format: ColumnFormat = metricFormat([]);
  private more: HTMLElement;

  constructor(private options: TableOptions) {
    this.sort = options.memory?.sort ?? this.sort;
    this.showAll = options.memory?.showAll ?? false;
    this.el = document.createElement("div");
    this.el.className = "rw-table-wrap";
    this.el.tabIndex = 0;
    this.el.setAttribute("role", "grid");
    this.el.addEventListener("keydown", (e) => {
      const step = e.key === "ArrowDown" ? 1 : e.key === "ArrowUp" ? -1 : 0;
      if (step === 0) return;
      e.preventDefault();
      const id = moveSelection(this.order, this.selected, step);
      if (id !== null && id !== this.selected) this.options.onSelect(id);
    });
    this.more = document.createElement("div");
    this.more.className = "rw-more rw-muted";
    // One listener for every row: rows come and go, the table stays.
    this.el.addEventListener("click", (e) => {
      const target = e.target as Element | null;
      if (target?.closest(".rw-more button")) {
        this.showAll = true;
        if (this.options.memory) this.options.memory.showAll = true;
        this.draw();
        return;
      }
      const th = target?.closest("th");
      if (th instanceof HTMLElement && th.dataset["key"] !== undefined) {
        this.sort = nextSort(this.sort, th.dataset["key"] as SortKey);
        if (this.options.memory) this.options.memory.sort = this.sort;
        this.draw();
        return;
      }
      const tr = target?.closest("tr.rw-row");
      if (tr instanceof HTMLElement && tr.dataset["id"] !== undefined) this.options.onSelect(tr.dataset["id"], (e as MouseEvent).shiftKey);
    });
  }

  update(rows: IterationRow[], selected: string | null, metricName: string, compared: string | null = null): void {
    this.rows = rows;
    this.selected = selected;
    this.compared = compared;
    this.options.metricName = metricName;
    this.draw();
  }

  /** The ids in the order the table shows them (arrow keys walk this order). */
  get shownIds(): string[] {
    return this.order.map((r) => r.id);
  }

  private draw(): void {
    this.order = sortRows(this.rows, this.sort);
    if (this.table === null || this.body === null) {
      this.table = document.createElement("table");
      this.table.className = "rw-table rw-iterations";
      this.table.createTHead();
      this.body = this.table.createTBody();
      this.el.replaceChildren(this.table, this.more);
    }
    this.drawHead(this.table);
    const body = this.body;
    const seen = new Set<string>();
    let at = 0;
    const rows = visibleRows(this.order, this.selected, this.showAll);
    this.format = metricFormat(this.rows);
    for (const row of rows) {
      seen.add(row.id);
      const key = rowKey(row, this.selected, this.format, this.compared);
      let entry = this.drawn.get(row.id);
      if (entry === undefined || entry.key !== key) {
        const tr = this.buildRow(row);
        if (entry !== undefined) entry.tr.replaceWith(tr);
        entry = { key, tr };
        this.drawn.set(row.id, entry);
      }
      // Move the row into place only when it is not there already.
      if (body.children[at] !== entry.tr) body.insertBefore(entry.tr, body.children[at] ?? null);
      at++;
    }
    for (const [id, entry] of this.drawn) {
      if (!seen.has(id)) {
        entry.tr.remove();
        this.drawn.delete(id);
      }
    }
    this.drawMore(rows.length);
  }

  private drawMore(shown: number): void {
    const hidden = this.order.length - shown;
    this.more.hidden = hidden <= 0;
    if (hidden <= 0) return;
    const text = `${shown.toLocaleString("en-US")} of ${this.order.length.toLocaleString("en-US")} iterations shown (sort to bring others up) `;
    if (this.more.firstChild?.textContent === text) return;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Show all";
    this.more.replaceChildren(document.createTextNode(text), button);
  }

  private drawHead(table: HTMLTableElement): void {
    const key = JSON.stringify([this.sort, this.options.metricName]);
    if (key === this.headKey) return;
    this.headKey = key;
    const head = document.createElement("tr");
    for (const col of COLUMNS) {
      const th = document.createElement("th");
      th.dataset["key"] = col.key;
      th.className = col.numeric ? "rw-num rw-sortable" : "rw-sortable";
      const arrow = this.sort.key === col.key ? (this.sort.dir === "asc" ? " \u25b2" : " \u25bc") : "";
      th.textContent = (col.key === "metric" ? this.options.metricName : col.title) + arrow;
      th.title = "Sort by this column";
      head.appendChild(th);
    }
    table.tHead?.replaceChildren(head);
  }

  private buildRow(row: IterationRow): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset["id"] = row.id;
    tr.className = "rw-row";
    if (row.is_best) tr.classList.add("rw-best");
    if (row.id === this.selected) tr.classList.add("rw-selected");
    if (row.id === this.compared) tr.classList.add("rw-compared");
    tr.classList.add(`rw-status-${row.status.replace(/[^a-z]/g, "")}`);
    for (const col of COLUMNS) {
      const td = document.createElement("td");
      if (col.numeric) td.className = "rw-num";
      td.textContent = cellText(row, col.key, this.format);
      if (col.key === "name" && row.is_best) {
        const star = document.createElement("span");
        star.className = "rw-star";
        star.title = "best iteration";
        star.textContent = " \u2605";
        td.appendChild(star);
      }
      tr.appendChild(td);
    }
    return tr;
  }
}
