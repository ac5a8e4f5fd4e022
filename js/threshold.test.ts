// The threshold control's arithmetic: snapping, counts, the 2 x 2 matrix, the detection
// matrix from its buckets, P/R/F1 and the chart marks.
import { describe, expect, test } from "vitest";

import type { ClassificationThresholds, DetectionThresholds, SplitDetail, ThresholdTable } from "./model";
import { barRows, classConfusion, classCountsAt, detectionAt, markPoints, nearestIndex, prf, startThreshold, thresholdView, withMarkLayer } from "./threshold";

// Scores: positives 0.9, 0.8, 0.4; negatives 0.7, 0.3, 0.1 (exact counts at each stop).
const cls = { label: "yes", positives: 3, negatives: 3, threshold: [0, 0.1, 0.3, 0.4, 0.5, 0.7, 0.8, 0.9, 1], tp: [3, 3, 3, 3, 2, 2, 2, 1, 0], fp: [3, 3, 2, 1, 1, 1, 0, 0, 0] };
const binary: ClassificationThresholds = { kind: "classification", mode: "exact", binary: true, classes: [cls] };

function split(thresholds: ThresholdTable | null, labels: string[]): SplitDetail {
  return { metrics: {}, groups: [], reasons: {}, per_class: labels.map((label) => ({ label })), confusion: { labels, counts: null, cells: [] }, charts: {}, thresholds };
}

describe("threshold", () => {
  test("nearestIndex snaps to the nearest stop, ties to the lower", () => {
    expect(nearestIndex([0, 0.5, 1], 0.74)).toBe(1);
    expect(nearestIndex([0, 0.5, 1], 0.75)).toBe(1);
    expect(nearestIndex([0, 0.5, 1], 0.76)).toBe(2);
    expect(nearestIndex([0, 0.5, 1], -3)).toBe(0);
    expect(nearestIndex([0, 0.5, 1], 7)).toBe(2);
    expect(nearestIndex([], 0.5)).toBe(-1);
  });

  test("counts at a stop are the table's; between stops the nearest, not exact", () => {
    expect(classCountsAt(cls, 0.5, null)).toEqual({ threshold: 0.5, tp: 2, fp: 1, fn: 1, tn: 2, exact: true });
    const near = classCountsAt(cls, 0.52, null);
    expect(near).toMatchObject({ threshold: 0.5, exact: false });
  });

  test("the kernel's exact counts win when given", () => {
    const exact = { iteration: "1", split: "validation", threshold: 0.52, classes: [{ label: "yes", threshold: 0.52, tp: 2, fp: 1, fn: 1, tn: 2 }] };
    expect(classCountsAt(cls, 0.52, exact)).toMatchObject({ threshold: 0.52, exact: true, tp: 2 });
  });

  test("a binary matrix is in the labels' order, whichever is positive", () => {
    const k = classCountsAt(cls, 0.5, null);
    expect(classConfusion(binary, cls, k, ["no", "yes"]).counts).toEqual([[2, 1], [1, 2]]);
    expect(classConfusion(binary, cls, classCountsAt(cls, 0.8, null), ["yes", "no"]).counts).toEqual([[2, 1], [0, 3]]);
    const multi: ClassificationThresholds = { ...binary, binary: false };
    expect(classConfusion(multi, cls, k, ["a", "yes", "c"])).toEqual({ labels: ["yes", "(rest)"], counts: [[2, 1], [1, 2]], cells: null });
  });

  test("P/R/F1 are zero where undefined, as zero_division=0", () => {
    expect(prf(2, 1, 1)).toEqual({ precision: 2 / 3, recall: 2 / 3, f1: 2 / 3 });
    expect(prf(0, 0, 3)).toEqual({ precision: 0, recall: 0, f1: 0 });
  });

  test("the marks sit on the curves: ROC (fpr, tpr), PR, the gains and lift cutoff", () => {
    const marks = markPoints(cls, classCountsAt(cls, 0.5, null));
    expect(marks["roc"]).toEqual([{ fpr: 1 / 3, tpr: 2 / 3 }]);
    expect(marks["pr"]).toEqual([{ recall: 2 / 3, precision: 2 / 3 }]);
    expect(marks["gains"]).toEqual([{ fraction: 0.5, gain: 2 / 3 }]);
    expect(marks["lift"]?.[0]?.["lift"]).toBeCloseTo(4 / 3, 12);
    expect(markPoints(cls, classCountsAt(cls, 1, null))["pr"]).toEqual([]); // nothing predicted
  });

  test("the mark layer reads the chart's own fields and a named data set", () => {
    const spec = { layer: [{ mark: "line" }], data: { values: "x" } };
    const roc = withMarkLayer(spec, "roc") as { layer: { data?: { name: string }; encoding?: { x: { field: string } } }[] };
    expect(roc.layer).toHaveLength(2);
    expect(roc.layer[1]?.data?.name).toBe("rw_threshold");
    expect(roc.layer[1]?.encoding?.x.field).toBe("fpr");
    expect((withMarkLayer(spec, "gains") as { layer: unknown[] }).layer).toHaveLength(3); // rule + point
    expect(withMarkLayer(spec, "calibration")).toBe(spec);
  });

  test("the detection matrix sums its buckets from the threshold up; missed = n_true - taken", () => {
    const det: DetectionThresholds = {
      kind: "detection", labels: ["cat", "dog"], threshold: [0, 0.5, 1], support: [2, 1], n_true: [2, 1],
      // cat hit at 0.9 (bucket 1), cat taken by a dog box at 0.2 (bucket 0), a dog box on nothing at 0.6
      cells: { row: [0, 0, 2], column: [0, 1, 1], at: [1, 0, 1], n: [1, 1, 1] },
      tp: { class: [0], at: [1], n: [1] }, fp: { class: [1, 1], at: [0, 1], n: [1, 1] }, iou: { class: [0], at: [1], n: [0.75] },
    };
    const high = detectionAt(det, 0.5, null);
    expect(high.confusion.counts).toEqual([[1, 0, 1], [0, 0, 1], [0, 1, 0]]);
    expect(high.tp).toEqual([1, 0]);
    expect(high.fp).toEqual([0, 1]);
    expect(detectionAt(det, 0, null).confusion.counts).toEqual([[1, 1, 0], [0, 0, 1], [0, 1, 0]]);
    const view = thresholdView(split(det, ["cat", "dog"]), 0.5, null, null);
    expect(view?.perClass?.map((r) => [r["precision"], r["recall"], r["mean_iou"]])).toEqual([[1, 0.5, 0.75], [0, 0, null]]);
  });

  test("the per-class bars take the threshold's values and keep their order", () => {
    const rows = [
      { label: "cat", measure: "precision", value: 0.5, rank: 1, f1: 0.4 },
      { label: "cat", measure: "recall", value: 0.3, rank: 1, f1: 0.4 },
      { label: "owl", measure: "recall", value: 0.9, rank: 0, f1: 0.1 },
    ];
    const at = [{ label: "cat", precision: 1, recall: 0.25, f1: 0.4 }];
    expect(barRows(rows, at)).toEqual([
      { label: "cat", measure: "precision", value: 1, rank: 1, f1: 0.4 },
      { label: "cat", measure: "recall", value: 0.25, rank: 1, f1: 0.4 },
      { label: "owl", measure: "recall", value: 0.9, rank: 0, f1: 0.1 },
    ]);
  });

  test("the view is off without a threshold or a table; it starts at 0.5", () => {
    expect(thresholdView(split(binary, ["no", "yes"]), null, null, null)).toBeNull();
    expect(thresholdView(split(null, ["no", "yes"]), 0.5, null, null)).toBeNull();
    expect(startThreshold(binary, null)).toBe(0.5);
    const v = thresholdView(split(binary, ["no", "yes"]), 0.7, null, null);
    expect(v?.index).toBe(5);
    expect(v?.confusion.counts).toEqual([[2, 1], [1, 2]]);
  });
});
