import { describe, expect, test } from "vitest";

import { orderedCharts, presentSplits, withLegendSplits } from "./charts";

describe("the loss chart's legend", () => {
  test("lists only the splits that have points, in the fixed order", () => {
    const pts = [
      { split: "validation", step: 0, value: 1 },
      { split: "train", step: 0, value: 1 },
      { split: "validation", step: 1, value: 1 },
    ];
    expect(presentSplits(pts)).toEqual(["train", "validation"]);
    expect(presentSplits([])).toEqual([]);
  });

  test("withLegendSplits sets the legend values of every split colour, keeping the scale", () => {
    const color = { field: "split", scale: { domain: ["train", "validation", "test"] }, title: "split" };
    const spec = { layer: [{ encoding: { color } }, { encoding: { color: { ...color } } }] };
    const out = withLegendSplits(spec, ["train"]) as { layer: { encoding: { color: Record<string, unknown> } }[] };
    for (const l of out.layer) {
      expect(l.encoding.color["legend"]).toEqual({ values: ["train"] });
      expect(l.encoding.color["scale"]).toEqual({ domain: ["train", "validation", "test"] });
    }
    expect("legend" in color).toBe(false);
    const none = withLegendSplits(spec, []) as { layer: { encoding: { color: Record<string, unknown> } }[] };
    expect(none.layer[0]?.encoding.color["legend"]).toBeNull();
  });
});

test("detail charts come in panel order, unknown names last", () => {
  const names = orderedCharts({ zzz: {}, pr: {}, residuals: {}, roc: {}, importance: {} }).map((p) => p[0]);
  expect(names).toEqual(["roc", "pr", "residuals", "importance", "zzz"]);
});
