import { describe, expect, test } from "vitest";

import { OTHER, TOP_K, denseCounts, fold, mostCommon, mostConfused, normalise, pinnedRows, scaleMax, selectClasses, total } from "./confusion";

const m3 = [
  [5, 1, 0],
  [2, 7, 1],
  [0, 3, 9],
];

describe("fold", () => {
  test("folding into (other) loses no count", () => {
    const f = fold(m3, ["a", "b", "c"], new Set([0]));
    expect(f.labels).toEqual(["a", OTHER]);
    expect(f.matrix).toEqual([
      [5, 1],
      [2, 20],
    ]);
    expect(total(f.matrix)).toBe(28);
    expect(f.other).toBe(true);
  });

  test("keeps the kept classes' row and column sums and shows them in matrix order", () => {
    const n = 12;
    const counts = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i * 7 + j * 3) % 5));
    const labels = counts.map((_, i) => `c${i}`);
    const keep = [9, 2, 5];
    const f = fold(counts, labels, keep);
    expect(f.labels).toEqual(["c2", "c5", "c9", OTHER]);
    expect(total(f.matrix)).toBe(total(counts));
    [2, 5, 9].forEach((orig, s) => {
      const rowSum = (counts[orig] ?? []).reduce((a, b) => a + b, 0);
      expect((f.matrix[s] ?? []).reduce((a, b) => a + b, 0)).toBe(rowSum);
      const colSum = counts.reduce((a, r) => a + (r[orig] ?? 0), 0);
      expect(f.matrix.reduce((a, r) => a + (r[s] ?? 0), 0)).toBe(colSum);
      expect(f.matrix[s]?.[s]).toBe(counts[orig]?.[orig]);
    });
  });

  test("keeping every class adds no (other)", () => {
    const f = fold(m3, ["a", "b", "c"], [2, 1, 0]);
    expect(f.labels).toEqual(["a", "b", "c"]);
    expect(f.matrix).toEqual(m3);
    expect(f.other).toBe(false);
  });
});

describe("top-k selection", () => {
  test("most common: largest row sums first, ties in matrix order", () => {
    expect(mostCommon(m3, 2)).toEqual([2, 1]);
    expect(mostCommon([[1], [1]].map((r) => [...r, 0]), 2)).toEqual([0, 1]);
  });

  test("most confused: classes of the largest off-diagonal cells, true before predicted", () => {
    // off-diagonal: (2,1)=3, (1,0)=2, (0,1)=1, (1,2)=1
    expect(mostConfused(m3, 2)).toEqual([2, 1]);
    expect(mostConfused(m3, 3)).toEqual([2, 1, 0]);
  });

  test("most confused fills up with the most common when few classes are confused", () => {
    const diag = [
      [1, 0, 0, 0],
      [0, 9, 0, 0],
      [0, 4, 2, 0],
      [0, 0, 0, 5],
    ];
    expect(mostConfused(diag, 3)).toEqual([2, 1, 3]);
  });

  test("same rule as the views layer's docstring examples", () => {
    const m = [
      [5, 3, 0],
      [0, 5, 0],
      [1, 0, 5],
    ];
    expect(mostConfused(m, 2)).toEqual([0, 1]);
    expect(mostConfused(m, 3)).toEqual([0, 1, 2]);
    expect(mostCommon([[1, 0, 0], [0, 5, 1], [2, 0, 0]], 2)).toEqual([1, 2]);
  });

  test("seven of ten digits, the rest folded, total kept", () => {
    const n = 10;
    const counts = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 50 : (i + 2 * j) % 4)));
    const keep = selectClasses(counts, "confused");
    expect(keep).toHaveLength(7);
    const f = fold(counts, counts.map((_, i) => String(i)), keep);
    expect(f.labels).toHaveLength(8);
    expect(total(f.matrix)).toBe(total(counts));
    expect(selectClasses(counts, "all")).toHaveLength(10);
    expect(selectClasses(m3, "confused")).toEqual([0, 1, 2]);
  });
});

describe("a detector's background", () => {
  // Nine classes and the background (last): class i is missed (row i, background column)
  // i times and no box is spurious, so the background is in no top cell of its own.
  const n = 10;
  const counts = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 40 : j === n - 1 && i < n - 1 ? i : 0)));
  const labels = [...Array.from({ length: n - 1 }, (_, i) => `c${i}`), "background"];

  test("stays a row and a column beside the top 7 in both modes, never in (other)", () => {
    const pinned = pinnedRows("detection", labels);
    expect(pinned).toEqual([n - 1]);
    for (const mode of ["confused", "common"] as const) {
      const keep = selectClasses(counts, mode, TOP_K, labels, new Set(), pinned);
      expect(keep).toContain(n - 1);
      expect(keep).toHaveLength(TOP_K + 1);
      const f = fold(counts, labels, keep);
      expect(f.labels).toHaveLength(TOP_K + 2);
      expect(f.labels.slice(-2)).toEqual(["background", OTHER]);
      expect(total(f.matrix)).toBe(total(counts));
    }
    // The most confused are the most missed: classes 8, 7, ..., 2.
    expect(selectClasses(counts, "confused", TOP_K, labels, new Set(), pinned).slice(0, TOP_K)).toEqual([8, 7, 6, 5, 4, 3, 2]);
  });

  test("is pinned for detection and instance segmentation only", () => {
    expect(pinnedRows("instance_segmentation", labels)).toEqual([n - 1]);
    expect(pinnedRows("classification", labels)).toEqual([]); // a class that happens to be named so
    expect(pinnedRows("detection", ["a", "b"])).toEqual([]);
  });

  test("with 7 classes and the background, all are shown", () => {
    const small = counts.slice(2).map((r) => r.slice(2));
    const keep = selectClasses(small, "confused", TOP_K, labels.slice(2), new Set(), pinnedRows("detection", labels.slice(2)));
    expect(keep).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe("normalise", () => {
  test("row-normalised rows sum to 1, column-normalised columns sum to 1", () => {
    const r = normalise(m3, "row");
    for (const row of r) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(r[0]?.[1]).toBeCloseTo(1 / 6, 12);
    const c = normalise(m3, "column");
    for (let j = 0; j < 3; j++) expect(c.reduce((a, row) => a + (row[j] ?? 0), 0)).toBeCloseTo(1, 12);
    expect(c[1]?.[0]).toBeCloseTo(2 / 7, 12);
  });

  test("an empty row or column stays 0; raw is an unchanged copy", () => {
    const m = [
      [0, 0],
      [3, 0],
    ];
    expect(normalise(m, "row")).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(normalise(m, "column")).toEqual([
      [0, 0],
      [1, 0],
    ]);
    const raw = normalise(m, "raw");
    expect(raw).toEqual(m);
    expect(raw).not.toBe(m);
  });
});

describe("the class filter and the grey (other) cells", () => {
  const counts = [
    [50, 2, 0, 1],
    [3, 40, 1, 0],
    [0, 0, 300, 9],
    [1, 0, 7, 400],
  ];
  const labels = ["a", "b", "c", "d"];

  test("pick shows exactly the picked classes, the rest folded with no count lost", () => {
    const keep = selectClasses(counts, "pick", TOP_K, labels, new Set(["d", "a"]));
    expect(keep).toEqual([0, 3]);
    const f = fold(counts, labels, keep);
    expect(f.labels).toEqual(["a", "d", OTHER]);
    expect(total(f.matrix)).toBe(total(counts));
    expect(selectClasses(counts, "pick", TOP_K, labels, new Set())).toEqual([]);
  });

  test("the colour scale ignores the (other) row and column", () => {
    const f = fold(counts, labels, [0, 1]);
    expect(f.matrix[2]?.[2]).toBe(716); // (other)-(other)
    expect(scaleMax(f.matrix, f.other)).toBe(50);
    expect(scaleMax(counts, false)).toBe(400);
  });
});

describe("denseCounts", () => {
  test("rows come as they are; non-zero cells fill a matrix of zeros", () => {
    const counts = [[5, 1], [0, 3]];
    expect(denseCounts({ labels: ["a", "b"], counts, cells: null })).toBe(counts);
    const cells: [number, number, number][] = [[0, 0, 5], [0, 2, 1.5], [2, 1, 3]];
    expect(denseCounts({ labels: ["a", "b", "c"], counts: null, cells })).toEqual([
      [5, 0, 1.5],
      [0, 0, 0],
      [0, 3, 0],
    ]);
  });
  test("a cell outside the labels is ignored", () => {
    expect(denseCounts({ labels: ["a"], counts: null, cells: [[0, 0, 2], [1, 0, 9], [0, 4, 9]] })).toEqual([[2]]);
  });
});
