// @vitest-environment happy-dom
// The confusion panel in a DOM: a matrix sent as non-zero cells draws as its rows do.
import { describe, expect, test } from "vitest";

import { ConfusionPanel } from "./confusion";
import type { Confusion } from "./model";

function drawn(data: Confusion, mode: string): string[][] {
  const panel = new ConfusionPanel({ onCell: () => {} });
  panel.update(data, null);
  const select = panel.el.querySelector(".rw-mode select") as HTMLSelectElement;
  select.value = mode;
  select.dispatchEvent(new Event("change"));
  return [...panel.el.querySelectorAll(".rw-matrix tr")].map((tr) => [...tr.children].map((c) => c.textContent ?? ""));
}

describe("ConfusionPanel", () => {
  test("draws the same table from rows and from non-zero cells, in every mode", () => {
    const labels = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const counts = labels.map((_, i) => labels.map((_, j) => (i === j ? 10 + i : (i * 7 + j * 3) % 11 === 0 ? i + j : 0)));
    const cells: [number, number, number][] = [];
    counts.forEach((row, i) => row.forEach((v, j) => { if (v !== 0) cells.push([i, j, v]); }));
    for (const mode of ["confused", "common", "all"]) {
      const dense = drawn({ labels, counts, cells: null }, mode);
      expect(dense.length).toBeGreaterThan(2);
      expect(drawn({ labels, counts: null, cells }, mode)).toEqual(dense);
    }
  });

  test("counts print as a count column: integers, or one number of decimals when weighted", () => {
    const texts = (counts: number[][]) => drawn({ labels: ["a", "b"], counts, cells: null }, "all").slice(1).map((r) => r.slice(1));
    expect(texts([[12, 0], [3, 140]])).toEqual([["12", "0"], ["3", "140"]]);
    expect(texts([[12.5, 0], [3.25, 140]])).toEqual([["12.500", "0.000"], ["3.250", "140.000"]]);
  });

  test("a detector's background row and column stay drawn, past 7 classes, in both modes", () => {
    const labels = [...Array.from({ length: 12 }, (_, i) => `c${i}`), "background"];
    const n = labels.length;
    // Class i is missed i times: the background is in no cell that ranks it.
    const counts = labels.map((_, i) => labels.map((_, j) => (i === j ? 30 : j === n - 1 && i < n - 1 ? i : 0)));
    for (const mode of ["confused", "common"]) {
      const panel = new ConfusionPanel({ onCell: () => {} });
      panel.update({ labels, counts, cells: null }, null, "detection");
      const select = panel.el.querySelector(".rw-mode select") as HTMLSelectElement;
      select.value = mode;
      select.dispatchEvent(new Event("change"));
      const heads = [...panel.el.querySelectorAll(".rw-matrix thead th")].map((th) => th.textContent);
      expect(heads.slice(-2)).toEqual(["background", "(other)"]);
      expect(heads).toHaveLength(1 + 7 + 2);
      const rows = [...panel.el.querySelectorAll(".rw-matrix tbody th")].map((th) => th.textContent);
      expect(rows.slice(-2)).toEqual(["background", "(other)"]);
    }
  });
});
