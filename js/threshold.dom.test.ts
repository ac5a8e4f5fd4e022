// @vitest-environment happy-dom
// The threshold control in a DOM: switched on at 0.5, the slider's stops, the class picker.
import { describe, expect, test } from "vitest";

import type { ClassificationThresholds, SplitDetail } from "./model";
import { ThresholdPanel, thresholdView } from "./threshold";

const a = { label: "a", positives: 2, negatives: 2, threshold: [0, 0.25, 0.5, 1], tp: [2, 2, 1, 0], fp: [2, 1, 0, 0] };
const b = { ...a, label: "b", threshold: [0, 0.5, 0.75, 1] };
const table: ClassificationThresholds = { kind: "classification", mode: "exact", binary: false, classes: [a, b] };
const sd: SplitDetail = { metrics: {}, groups: [], reasons: {}, per_class: [], confusion: { labels: ["a", "b", "c"], counts: null, cells: [] }, charts: {}, thresholds: table };

describe("ThresholdPanel", () => {
  test("switches on at 0.5, moves by the picked class's stops, switches off", () => {
    const asked: (number | null)[] = [];
    const classes: string[] = [];
    const panel = new ThresholdPanel({ onThreshold: (t) => asked.push(t), onClass: (l) => classes.push(l) });
    panel.show(table, null, null, null);
    const [toggle, slider] = [...panel.el.querySelectorAll("input")] as HTMLInputElement[];
    const pick = panel.el.querySelector("select") as HTMLSelectElement;
    expect(slider?.disabled).toBe(true);
    expect([...pick.options].map((o) => o.value)).toEqual(["a", "b"]);
    toggle!.checked = true;
    toggle!.dispatchEvent(new Event("change"));
    expect(asked).toEqual([0.5]);

    panel.show(table, thresholdView(sd, 0.5, null, "b"), 0.5, "b");
    expect(slider?.disabled).toBe(false);
    expect(slider?.value).toBe("1");
    expect(panel.el.querySelector(".rw-threshold-value")?.textContent).toBe("\u2265 0.5");
    expect(panel.el.querySelector(".rw-threshold-scores")?.textContent).toContain("b: precision 0.667 \u00b7 recall 1.000");
    slider!.value = "2";
    slider!.dispatchEvent(new Event("input"));
    expect(asked).toEqual([0.5, 0.75]);
    pick.value = "a";
    pick.dispatchEvent(new Event("change"));
    expect(classes).toEqual(["a"]);

    toggle!.checked = false;
    toggle!.dispatchEvent(new Event("change"));
    expect(asked).toEqual([0.5, 0.75, null]);
  });

  test("a value between stops says which stop its counts are at", () => {
    const panel = new ThresholdPanel({ onThreshold: () => {}, onClass: () => {} });
    panel.show(table, thresholdView(sd, 0.3, null, "a"), 0.3, "a");
    expect(panel.el.querySelector(".rw-threshold-value")?.textContent).toBe("\u2265 0.25 (nearest to 0.3)");
  });
});
