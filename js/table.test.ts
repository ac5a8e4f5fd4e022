import { describe, expect, test } from "vitest";

import { makeRow } from "./fixtures";
import type { IterationRow } from "./model";
import { moveSelection, nextSort, sortRows } from "./table";

function row(index: number, name: string, metric: number | null, status = "completed", duration: number | null = index): IterationRow {
  return makeRow(index, { id: String(index * 10), name, status, duration, metric, best: metric });
}

const rows = [row(1, "svc", 0.9), row(2, "knn", null, "running"), row(3, "Logistic", 0.95), row(4, "bayes", 0.9)];

describe("sortRows", () => {
  test("sorts numbers descending with missing values last and ties in run order", () => {
    const ids = sortRows(rows, { key: "metric", dir: "desc" }).map((r) => r.index);
    expect(ids).toEqual([3, 1, 4, 2]);
  });

  test("ascending keeps missing values last too", () => {
    expect(sortRows(rows, { key: "metric", dir: "asc" }).map((r) => r.index)).toEqual([1, 4, 3, 2]);
  });

  test("sorts text by locale, case-insensitively", () => {
    expect(sortRows(rows, { key: "name", dir: "asc" }).map((r) => r.name)).toEqual(["bayes", "knn", "Logistic", "svc"]);
    expect(sortRows(rows, { key: "name", dir: "desc" }).map((r) => r.name)).toEqual(["svc", "Logistic", "knn", "bayes"]);
  });

  test("treats NaN as missing and does not mutate its input", () => {
    const input = [row(1, "a", Number.NaN), row(2, "b", 0.1)];
    const before = input.map((r) => r.index);
    expect(sortRows(input, { key: "metric", dir: "desc" }).map((r) => r.index)).toEqual([2, 1]);
    expect(input.map((r) => r.index)).toEqual(before);
  });
});

describe("nextSort and moveSelection", () => {
  test("a click on the sorted column flips it; a new numeric column starts descending", () => {
    expect(nextSort({ key: "index", dir: "asc" }, "index")).toEqual({ key: "index", dir: "desc" });
    expect(nextSort({ key: "index", dir: "asc" }, "metric")).toEqual({ key: "metric", dir: "desc" });
    expect(nextSort({ key: "metric", dir: "desc" }, "name")).toEqual({ key: "name", dir: "asc" });
  });

  test("arrow keys move through the displayed order and stop at the ends", () => {
    const order = sortRows(rows, { key: "metric", dir: "desc" }); // 3, 1, 4, 2
    expect(moveSelection(order, "30", 1)).toBe("10");
    expect(moveSelection(order, "30", -1)).toBe("30");
    expect(moveSelection(order, "20", 1)).toBe("20");
    expect(moveSelection(order, null, 1)).toBe("30");
    expect(moveSelection([], null, 1)).toBeNull();
  });
});
