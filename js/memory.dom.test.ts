// @vitest-environment happy-dom
// A view drawn anew (the output updated after a cell) starts where the last view was.
import { describe, expect, test } from "vitest";

import { ConfusionPanel } from "./confusion";
import { makeRow } from "./fixtures";
import { viewMemory } from "./memory";
import type { IterationRow } from "./model";
import { IterationsTable } from "./table";

function row(i: number): IterationRow {
  return makeRow(i, { metric: i / 10, best: i / 10 });
}

describe("view memory", () => {
  test("is one object per widget key", () => {
    expect(viewMemory("a")).toBe(viewMemory("a"));
    expect(viewMemory("a")).not.toBe(viewMemory("b"));
  });

  test("a new table of the same widget keeps the sort and 'Show all'", () => {
    const memory = viewMemory("table-widget");
    const rows = Array.from({ length: 150 }, (_, i) => row(i + 1));
    const first = new IterationsTable({ metricName: "accuracy", onSelect: () => {}, memory });
    document.body.replaceChildren(first.el);
    first.update(rows, null, "accuracy");
    (first.el.querySelector('th[data-key="metric"]') as HTMLElement).click();
    (first.el.querySelector(".rw-more button") as HTMLElement).click();
    const again = new IterationsTable({ metricName: "accuracy", onSelect: () => {}, memory });
    again.update(rows, null, "accuracy");
    expect(again.shownIds.slice(0, 2)).toEqual(["150", "149"]);
    expect(again.el.querySelectorAll("tbody tr.rw-row")).toHaveLength(150);
    const other = new IterationsTable({ metricName: "accuracy", onSelect: () => {}, memory: viewMemory("another") });
    other.update(rows, null, "accuracy");
    expect(other.shownIds.slice(0, 2)).toEqual(["1", "2"]);
  });

  test("a new confusion panel keeps the mode and the normalisation", () => {
    const memory = viewMemory("matrix-widget");
    const data = { labels: ["a", "b", "c"], counts: [[5, 1, 0], [2, 3, 1], [0, 0, 4]], cells: null };
    const first = new ConfusionPanel({ onCell: () => {}, memory });
    first.update(data, null);
    const mode = first.el.querySelector(".rw-mode select") as HTMLSelectElement;
    mode.value = "all";
    mode.dispatchEvent(new Event("change"));
    const norm = first.el.querySelector(".rw-norm select") as HTMLSelectElement;
    norm.value = "row";
    norm.dispatchEvent(new Event("change"));
    const again = new ConfusionPanel({ onCell: () => {}, memory });
    again.update(data, null);
    expect(again.mode).toBe("all");
    expect(again.norm).toBe("row");
    expect((again.el.querySelector(".rw-mode select") as HTMLSelectElement).value).toBe("all");
    expect((again.el.querySelector(".rw-norm select") as HTMLSelectElement).value).toBe("row");
  });
});
