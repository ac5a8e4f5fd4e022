// @vitest-environment happy-dom
// The iterations table in a DOM: rows kept across updates, clicks, arrow keys.
import { describe, expect, test } from "vitest";

import { makeRow } from "./fixtures";
import type { IterationRow } from "./model";
import { IterationsTable, PAGE_ROWS } from "./table";

function row(i: number, over: Partial<IterationRow> = {}): IterationRow {
  return makeRow(i, { metric: i / 10, best: i / 10, ...over });
}

function setup(n: number) {
  const picked: string[] = [];
  const table = new IterationsTable({ metricName: "accuracy", onSelect: (id) => picked.push(id) });
  document.body.replaceChildren(table.el);
  const rows = Array.from({ length: n }, (_, i) => row(i + 1));
  table.update(rows, "1", "accuracy");
  const trs = () => [...table.el.querySelectorAll("tbody tr.rw-row")] as HTMLElement[];
  return { table, rows, picked, trs };
}

describe("IterationsTable in a DOM", () => {
  test("an update with the same rows keeps every row element", () => {
    const { table, rows, trs } = setup(50);
    const before = trs();
    table.update([...rows], "1", "accuracy");
    expect(trs()).toHaveLength(50);
    expect(trs().every((tr, i) => tr === before[i])).toBe(true);
  });

  test("a changed row and the selection move rebuild only those rows", () => {
    const { table, rows, trs } = setup(5);
    const before = trs();
    const next = [...rows];
    next[3] = row(4, { status: "running", is_best: true });
    table.update(next, "2", "accuracy");
    const after = trs();
    const rebuilt = after.map((tr, i) => tr !== before[i]);
    expect(rebuilt).toEqual([true, true, false, true, false]); // old selection, new selection, changed row
    expect(after[1]?.classList.contains("rw-selected")).toBe(true);
    expect(after[3]?.classList.contains("rw-best")).toBe(true);
    expect(after[3]?.textContent).toContain("running");
  });

  test("new rows are appended in place and vanished rows removed", () => {
    const { table, rows, trs } = setup(3);
    table.update([rows[0]!, rows[2]!, row(4)], "1", "accuracy");
    expect(trs().map((tr) => tr.dataset["id"])).toEqual(["1", "3", "4"]);
  });

  test("sorting by a header click reorders, and clicks and arrow keys select", () => {
    const { table, picked, trs } = setup(4);
    const metric = table.el.querySelector('th[data-key="metric"]') as HTMLElement;
    metric.click(); // numbers start descending
    expect(trs().map((tr) => tr.dataset["id"])).toEqual(["4", "3", "2", "1"]);
    expect(table.shownIds).toEqual(["4", "3", "2", "1"]);
    (trs()[1]!.querySelector("td") as HTMLElement).click();
    expect(picked).toEqual(["3"]);
    table.el.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowUp" }));
    expect(picked).toEqual(["3", "2"]); // from "1" (selected), up in the shown order
  });

  test("names are text, never markup", () => {
    const { table, trs } = setup(1);
    table.update([row(1, { name: "<img src=x onerror=alert(1)>" })], null, "accuracy");
    expect(trs()[0]!.querySelector("img")).toBeNull();
    expect(trs()[0]!.textContent).toContain("<img src=x onerror=alert(1)>");
  });

  test("a long run draws one page and the selected row, until 'Show all'", () => {
    const n = PAGE_ROWS + 50;
    const { table, rows, picked, trs } = setup(n);
    expect(trs()).toHaveLength(PAGE_ROWS);
    const more = table.el.querySelector(".rw-more") as HTMLElement;
    expect(more.hidden).toBe(false);
    expect(more.textContent).toContain(`${PAGE_ROWS} of ${n} iterations shown`);
    const late = String(PAGE_ROWS + 30); // e.g. the best iteration, late in the run
    table.update(rows, late, "accuracy");
    expect(trs()).toHaveLength(PAGE_ROWS + 1);
    expect(trs().at(-1)?.dataset["id"]).toBe(late);
    expect(trs().at(-1)?.classList.contains("rw-selected")).toBe(true);
    table.el.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown" }));
    expect(picked.at(-1)).toBe(String(PAGE_ROWS + 31)); // arrow keys walk the whole order
    (more.querySelector("button") as HTMLElement).click();
    expect(trs()).toHaveLength(n);
    expect(more.hidden).toBe(true);
  });

  test("the metric columns print with one number of decimals, redrawn when a row needs more", () => {
    const table = new IterationsTable({ metricName: "accuracy", onSelect: () => {} });
    document.body.replaceChildren(table.el);
    const texts = () => [...table.el.querySelectorAll("tbody tr.rw-row")].map((tr) => [...tr.querySelectorAll("td")].slice(4).map((td) => td.textContent));
    const rows = [makeRow(1, { metric: 1, best: 1 }), makeRow(2, { metric: 0, best: 1 }), makeRow(3, { metric: 0.9143, best: 1 })];
    table.update(rows, null, "accuracy");
    expect(texts()).toEqual([["1.0000", "1.0000"], ["0.0000", "1.0000"], ["0.9143", "1.0000"]]);
    table.update([...rows, makeRow(4, { metric: 0.05, best: 1 })], null, "accuracy");
    expect(texts()).toEqual([["1.00000", "1.00000"], ["0.00000", "1.00000"], ["0.91430", "1.00000"], ["0.05000", "1.00000"]]);
  });
});
