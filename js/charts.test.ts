import { describe, expect, test } from "vitest";

import { LossSmoother, orderedCharts, presentSplits, specSmoothing, withLegendSplits, withLogScale, withSmoothing } from "./charts";
import { smooth } from "./smoothing";

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

test("a detector's matched-IoU histogram follows its PR curves, before a logged importance", () => {
  const names = orderedCharts({ importance: {}, matched_iou: {}, pr: {}, per_class: {} }).map((p) => p[0]);
  expect(names).toEqual(["per_class", "pr", "matched_iou", "importance"]);
});

describe("the loss chart's smoothing", () => {
  const points = [
    { split: "train", step: 0, value: 1.0 },
    { split: "validation", step: 0, value: 2.0 },
    { split: "train", step: 1, value: 0.5 },
    { split: "train", step: 2, value: 0.25 },
    { split: "validation", step: 1, value: 1.0 },
  ];

  test("appended points smoothed from the running state equal a recomputation", () => {
    const all = new LossSmoother(0.6).all(points);
    const growing = new LossSmoother(0.6);
    const appended = [...growing.all(points.slice(0, 2)), ...growing.append(points.slice(2, 4))!, ...growing.append(points.slice(4))!];
    expect(appended).toEqual(all);
    // Each split alone, in step order.
    const train = all.filter((r) => r.split === "train").map((r) => r.smoothed);
    expect(train).toEqual(smooth([1.0, 0.5, 0.25], 0.6));
    expect(all.filter((r) => r.split === "validation").map((r) => r.smoothed)).toEqual(smooth([2.0, 1.0], 0.6));
  });

  test("history in any order is smoothed in step order; a late point asks for a recomputation", () => {
    const shuffled = [points[3]!, points[0]!, points[4]!, points[2]!, points[1]!];
    const rows = new LossSmoother(0.6).all(shuffled);
    expect(rows.map((r) => r.step)).toEqual(shuffled.map((p) => p.step)); // input order kept
    expect(rows[0]!.smoothed).toBeCloseTo(smooth([1.0, 0.5, 0.25], 0.6)[2]!, 12);
    const s = new LossSmoother(0.6);
    s.all(points);
    expect(s.append([{ split: "train", step: 1, value: 9 }])).toBeNull();
    expect(s.append([{ split: "test", step: 0, value: 9 }])).not.toBeNull(); // a new split
  });

  test("the spec's smoothing parameter is read and set on a copy", () => {
    const spec = { params: [{ name: "smoothing", value: 0.6 }, { name: "other", value: 1 }], layer: [] };
    expect(specSmoothing(spec)).toBe(0.6);
    expect(specSmoothing({})).toBe(0);
    const out = withSmoothing(spec, 0.9);
    expect(specSmoothing(out)).toBe(0.9);
    expect(spec.params[0]!.value).toBe(0.6);
  });

  test("withLogScale makes every layer's y axis logarithmic and leaves out values at or below 0", () => {
    const spec = {
      layer: [
        { mark: "line", encoding: { y: { field: "value", scale: { zero: false } } } },
        { mark: "line", encoding: { y: { field: "smoothed", scale: { zero: false } } }, transform: [{ filter: "true" }] },
      ],
    };
    const out = withLogScale(spec) as { layer: { encoding: { y: { scale: unknown } }; transform: unknown[] }[] };
    expect(out.layer.map((l) => l.encoding.y.scale)).toEqual([{ type: "log" }, { type: "log" }]);
    expect(out.layer[0]!.transform).toEqual([{ filter: "datum.value > 0" }]);
    expect(out.layer[1]!.transform).toEqual([{ filter: "datum.smoothed > 0" }, { filter: "true" }]);
    expect(spec.layer[0]!.encoding.y.scale).toEqual({ zero: false });
  });

  test("withLogScale filters before the lone-point dot counts a split's points", () => {
    // Two points, one at 0: on a log axis the line has one point left, so the dot must show it.
    const dot = {
      mark: { type: "circle", opacity: 1 },
      encoding: { y: { field: "value" } },
      transform: [{ aggregate: [{ op: "count", as: "n" }], groupby: ["split"] }, { filter: "datum.n == 1" }],
    };
    const out = withLogScale({ layer: [dot] }) as { layer: { transform: unknown[] }[] };
    expect(out.layer[0]!.transform[0]).toEqual({ filter: "datum.value > 0" });
    expect(out.layer[0]!.transform.slice(1)).toEqual(dot.transform);
  });
});
