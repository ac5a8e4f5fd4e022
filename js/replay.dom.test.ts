// @vitest-environment happy-dom
// The replay control in a DOM: the slider's range and value, what a move writes,
// "Δ vs best" on and off (and off without a best), the coloured difference matrix.
import { describe, expect, test } from "vitest";

import type { StepSnapshot } from "./model";
import { ReplayPanel, deltaVsBest, replayView } from "./replay";

const steps: StepSnapshot[] = [0, 1, 2, 3].map((step) => ({ step, confusion: { labels: ["a", "b"], counts: [[step + 1, 1], [0, 2]], cells: null }, metrics: { accuracy: step / 4 } }));

describe("ReplayPanel", () => {
  test("a move writes its step, the last position null; the switch says Δ vs best", () => {
    const asked: (number | null)[] = [];
    const deltas: boolean[] = [];
    const panel = new ReplayPanel({ onStep: (s) => asked.push(s), onDelta: (on) => deltas.push(on) });
    panel.show(steps, replayView(steps, null), false, "best #2");
    const [slider, toggle] = [...panel.el.querySelectorAll("input")] as HTMLInputElement[];
    expect([slider!.min, slider!.max, slider!.value]).toEqual(["0", "3", "3"]);
    expect(panel.el.querySelector(".rw-replay-value")?.textContent).toBe("3 \u00b7 4 of 4 (latest)");
    slider!.value = "1";
    slider!.dispatchEvent(new Event("input"));
    slider!.value = "3";
    slider!.dispatchEvent(new Event("input"));
    expect(asked).toEqual([1, null]);
    panel.show(steps, replayView(steps, 1), false, "best #2");
    expect(slider!.value).toBe("1");
    expect(panel.el.querySelector(".rw-replay-value")?.textContent).toBe("1 \u00b7 2 of 4");
    expect(toggle!.disabled).toBe(false);
    toggle!.checked = true;
    toggle!.dispatchEvent(new Event("change"));
    expect(deltas).toEqual([true]);
    panel.show(steps, replayView(steps, 1), true, "");
    expect(toggle!.disabled).toBe(true); // no best iteration to compare with
    expect(toggle!.checked).toBe(false);
  });

  test("Δ vs best draws compare's diverging cells, signed", () => {
    const el = deltaVsBest(steps[0]!.confusion!, { labels: ["a", "b"], counts: [[1, 0], [0, 1]], cells: null }, "step 0", "best #2");
    const cells = [...el.querySelectorAll("td.rw-diff-cell")].map((td) => td.textContent);
    expect(cells).toEqual(["\u22120.50", "+0.50", "0.00", "0.00"]);
    expect(el.querySelector(".rw-diff-note")?.textContent).toContain("step 0 \u2212 best #2");
  });
});
