// The pure parts of the overfit gap (the same rules as runwatch.views.gap).
import { describe, expect, test } from "vitest";

import { barScale, flagClasses, gapColumn, lossGap, metricGap, perClassGap } from "./gap";
import type { SplitDetail } from "./model";

function split(over: Partial<SplitDetail>): SplitDetail {
  return { metrics: {}, groups: [], reasons: {}, per_class: [], confusion: null, charts: {}, ...over };
}

const COLUMNS: [string, string][] = [["precision", "Precision"], ["f1", "F1"], ["support", "Support"]];

describe("the overfit gap", () => {
  test("train - validation of the metrics defined in both, in train's group order", () => {
    const train = split({ metrics: { accuracy: 1, log_loss: 0.05, AUC_binary: null }, groups: [{ group: "a", metrics: ["log_loss", "accuracy", "AUC_binary"] }] });
    const valid = split({ metrics: { accuracy: 0.875, log_loss: 0.3, AUC_binary: 0.9 } });
    expect(metricGap(train, valid)).toEqual([
      { metric: "log_loss", train: 0.05, validation: 0.3, gap: 0.05 - 0.3 },
      { metric: "accuracy", train: 1, validation: 0.875, gap: 0.125 },
    ]);
  });

  test("per class: classes of both splits, score columns only, the largest F1 gaps flagged", () => {
    const row = (label: string, f1: number, precision = 0.5) => ({ label, f1, precision, support: 10 });
    const train = split({ per_class: [row("a", 1), row("b", 0.9), row("c", 0.9), row("d", 0.6), row("e", 1), row("only train", 1), row("no validation samples", 1)], per_class_columns: COLUMNS });
    // A class listed with no samples (support 0) was not measured: its F1 of 0 is no gap.
    const valid = split({ per_class: [row("a", 0.7), row("b", 0.5, 0.25), row("c", 0.88), row("d", 0.7), row("e", 0.8), { label: "no validation samples", f1: 0, precision: 0, support: 0 }], per_class_columns: COLUMNS });
    const g = perClassGap(train, valid);
    expect(g.key).toBe("f1");
    expect(g.columns.map(([c]) => c)).toEqual(["precision", "f1"]);
    expect(g.rows.map((r) => r.label)).toEqual(["a", "b", "c", "d", "e"]);
    expect(g.rows[1]?.gap["precision"]).toBe(0.25);
    // Gaps 0.3, 0.4, 0.02, -0.1, 0.2: the three largest of at least 0.05 are b, a, e.
    expect(g.rows.filter((r) => r.flagged).map((r) => r.label)).toEqual(["a", "b", "e"]);
  });

  test("the bars' scale is the largest gap of the scores, not of a loss", () => {
    const rows = [
      { metric: "accuracy", train: 1, validation: 0.9, gap: 0.1 },
      { metric: "AUC_macro", train: 0.95, validation: 0.75, gap: 0.2 },
      { metric: "log_loss", train: 0.5, validation: 3, gap: -2.5 },
    ];
    expect(barScale(rows)).toBeCloseTo(0.2, 12);
    expect(barScale(rows.slice(2))).toBe(2.5);
  });

  test("the flag rule: at most three, at least 0.05, ties to the first", () => {
    expect(flagClasses([0.02, 0.3, null, 0.1, 0.3, 0.2])).toEqual([1, 4, 5]);
    expect(flagClasses([0.049, -1])).toEqual([]);
  });

  test("the key column: F1, else IoU, else AP", () => {
    expect(gapColumn(["precision", "iou", "support"])).toBe("iou");
    expect(gapColumn(["ap50", "ap"])).toBe("ap");
    expect(gapColumn(["support"])).toBeNull();
  });

  test("the loss gap pairs the steps both splits logged, the last value of a step", () => {
    const got = lossGap([
      { split: "train", step: 0, value: 1 },
      { split: "train", step: 1, value: 0.8 },
      { split: "validation", step: 1, value: 0.9 },
      { split: "train", step: 1, value: 0.75 },
      { split: "test", step: 1, value: 0.1 },
      { split: "validation", step: 2, value: 0.5 },
    ]);
    expect(got).toEqual([{ step: 1, train: 0.75, validation: 0.9, gap: 0.75 - 0.9 }]);
  });
});
