// The pure parts of compare mode (the same rules as runwatch.views.compare).
import { describe, expect, test } from "vitest";

import { alignLabels, compareMetrics, comparePerClass, keepClasses, matrixDifference, mostChanged, overlaySpec, signed } from "./compare";
import type { Confusion, SplitDetail, Spec } from "./model";

const A: Confusion = { labels: ["a", "b"], counts: [[3, 1], [0, 4]], cells: null };
// Sparse, as a mostly empty matrix travels: b -> [[2, 2], [0, 4]] on labels b, c.
const B: Confusion = { labels: ["b", "c"], counts: null, cells: [[0, 0, 2], [0, 1, 2], [1, 1, 4]] };

function split(over: Partial<SplitDetail>): SplitDetail {
  return { metrics: {}, groups: [], reasons: {}, per_class: [], confusion: null, charts: {}, ...over };
}

describe("the difference of the row-normalised matrices", () => {
  test("labels align by name; a class one lacks counts as zeros there", () => {
    const d = matrixDifference(A, B);
    expect(d.labels).toEqual(["a", "b", "c"]);
    expect(d.a).toEqual([[0.75, 0.25, 0], [0, 1, 0], [0, 0, 0]]);
    expect(d.b).toEqual([[0, 0, 0], [0, 0.5, 0.5], [0, 0, 1]]);
    expect(d.diff).toEqual([[0.75, 0.25, 0], [0, 0.5, -0.5], [0, 0, -1]]);
  });

  test("an empty row stays zeros, not NaN", () => {
    const empty: Confusion = { labels: ["a", "b"], counts: [[0, 0], [1, 1]], cells: null };
    expect(matrixDifference(empty, empty).diff).toEqual([[0, 0], [0, 0]]);
  });

  test("the largest changes pick the classes, and (other) keeps each row's sum", () => {
    const d = matrixDifference(A, B);
    expect(mostChanged(d.diff, 2)).toEqual([0, 2]); // |-1| at (c, c), then 0.75 at (a, a)
    const kept = keepClasses(d, [0, 2]);
    expect(kept.labels).toEqual(["a", "c", "(other)"]);
    expect(kept.diff).toEqual([[0.75, 0, 0.25], [0, -1, 0]]);
    for (const r of kept.a) expect(r.reduce((s, v) => s + v, 0)).toBeCloseTo(r === kept.a[1] ? 0 : 1);
  });

  test("alignLabels keeps the first order, then the second's new labels", () => {
    expect(alignLabels(["z", "a"], ["a", "q", "z"])).toEqual(["z", "a", "q"]);
  });
});

describe("metrics and per-class columns", () => {
  test("a - b per metric; undefined in either: no difference; b's own metrics after", () => {
    const a = split({ metrics: { accuracy: 0.9, AUC_binary: null }, groups: [{ group: "label", metrics: ["accuracy", "AUC_binary"] }] });
    const b = split({ metrics: { accuracy: 0.75, AUC_binary: 0.8, log_loss: 0.3 } });
    const { groups, rows } = compareMetrics(a, b);
    expect(groups.map((g) => g.group)).toEqual(["label", "other"]);
    expect(rows.get("accuracy")?.difference).toBeCloseTo(0.15, 12);
    expect(rows.get("AUC_binary")).toEqual({ metric: "AUC_binary", a: null, b: 0.8, difference: null });
    expect(rows.get("log_loss")?.a).toBeNull();
  });

  test("classes of either, by name; a class one never met has no difference", () => {
    const a = split({ per_class: [{ label: "cat", f1: 0.5, support: 4 }, { label: "dog", f1: 0.25, support: 2 }], per_class_columns: [["f1", "F1"], ["support", "Support"]] });
    const b = split({ per_class: [{ label: "dog", f1: 0.75, support: 3 }, { label: "eel", f1: 1, support: 1 }], per_class_columns: [["f1", "F1"], ["support", "Support"]] });
    const { columns, rows } = comparePerClass(a, b);
    expect(columns.map(([c]) => c)).toEqual(["f1", "support"]);
    expect(rows.map((r) => r.label)).toEqual(["cat", "dog", "eel"]);
    expect(rows[1]?.difference).toEqual({ f1: -0.5, support: -1 });
    expect(rows[0]?.difference).toEqual({ f1: null, support: null });
    expect(rows[2]?.a).toEqual({ f1: null, support: null });
  });

  test("signed text", () => {
    expect(signed(0.5, "0.50")).toBe("+0.50");
    expect(signed(-0.5, "-0.50")).toBe("\u22120.50");
    expect(signed(-0.25, "0.25")).toBe("\u22120.25");
    expect(signed(-1e-9, "0.00")).toBe("\u22120.00");
    expect(signed(0, "0.00")).toBe("0.00");
    expect(signed(null, "")).toBe("\u2014");
  });
});

describe("overlaid curves", () => {
  const curve = (rows: Record<string, unknown>[], range: string[]): Spec => ({
    data: { name: "roc", values: rows },
    title: { text: "ROC curve" },
    layer: [
      { mark: { type: "rule" }, encoding: { x: { field: "x" } } },
      { mark: { type: "line" }, encoding: { color: { field: "series", scale: { range } }, strokeDash: { field: "kind" }, tooltip: undefined } },
      { mark: { type: "circle" }, encoding: { tooltip: [{ field: "series" }] } },
    ],
  });
  const a = curve([{ series: "micro average", rank: 0, fpr: 0 }, { series: "cat", rank: 1, fpr: 0 }], ["#000", "#c1"]);
  const b = curve([{ series: "micro average", rank: 0, fpr: 0.1 }, { series: "eel", rank: 1, fpr: 0.2 }], ["#000", "#c1"]);

  test("rows sent as CSV (as the kernel sends them) are read with their types", () => {
    const csv = curve([], ["#000"]);
    (csv["data"] as Record<string, unknown>)["values"] = 'series,rank,fpr\n"eel, the",0,0.5\nowl,1,\n';
    (csv["data"] as Record<string, unknown>)["format"] = { type: "csv", parse: { rank: "number", fpr: "number" } };
    const o = overlaySpec(csv, a, ["#2", "#1"]) as { data: { values: Record<string, unknown>[]; format?: unknown } };
    expect(o.data.format).toBeUndefined();
    expect(o.data.values.slice(0, 2)).toEqual([
      { series: "eel, the", rank: 0, fpr: 0.5, iteration: "#2" },
      { series: "owl", rank: 1, fpr: null, iteration: "#2" },
    ]);
  });

  test("both iterations' rows, told apart by dash; b's own class ranks after a's", () => {
    const o = overlaySpec(a, b, ["#3", "#1"]) as { data: { values: Record<string, unknown>[] }; layer: { encoding: Record<string, Record<string, unknown>> }[]; title: { text: string } };
    const rows = o.data.values;
    expect(rows.map((r) => [r["series"], r["iteration"], r["rank"]])).toEqual([
      ["micro average", "#3", 0],
      ["cat", "#3", 1],
      ["micro average", "#1", 0],
      ["eel", "#1", 2],
    ]);
    const lines = o.layer[1]!.encoding;
    expect(lines["strokeDash"]?.["field"]).toBe("iteration");
    expect((lines["strokeDash"]?.["scale"] as { domain: string[] }).domain).toEqual(["#3", "#1"]);
    expect(o.layer[2]!.encoding["tooltip"]).toEqual([{ field: "iteration", type: "nominal", title: "iteration" }, { field: "series" }]);
    expect(o.title.text).toBe("ROC curve: #3 vs #1");
    // The kernel's spec is left as it was.
    expect((a["data"] as { values: unknown[] }).values).toHaveLength(2);
  });
});
