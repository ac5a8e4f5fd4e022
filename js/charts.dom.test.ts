// @vitest-environment happy-dom
// The loss chart's controls: they start from the widget's view memory and write to it,
// so a view drawn anew (the output redrawn after a cell) keeps the log axis and smoothing.
import { expect, test } from "vitest";

import { LossChart } from "./charts";
import { viewMemory } from "./memory";

const SPEC = {
  data: { name: "loss", values: [] },
  params: [{ name: "smoothing", value: 0.6 }],
  mark: "line",
  encoding: { x: { field: "step", type: "quantitative" }, y: { field: "value", type: "quantitative" } },
};

test("the controls start at the spec's smoothing, then at what the memory holds", () => {
  const memory = viewMemory("loss-controls");
  const first = new LossChart(SPEC, memory);
  const log = first.el.querySelector<HTMLInputElement>(".rw-loss-log")!;
  const slider = first.el.querySelector<HTMLInputElement>(".rw-loss-smoothing")!;
  expect(log.checked).toBe(false);
  expect(Number(slider.value)).toBe(0.6);
  expect(first.smoothing).toBe(0.6);

  log.checked = true;
  log.dispatchEvent(new Event("change"));
  slider.value = "0.85";
  slider.dispatchEvent(new Event("input"));
  expect(first.smoothing).toBe(0.85);
  expect(first.el.querySelector(".rw-loss-smoothing-value")!.textContent).toBe("0.85");
  expect(memory).toMatchObject({ lossLog: true, lossSmoothing: 0.85 });

  const again = new LossChart(SPEC, viewMemory("loss-controls"));
  expect(again.el.querySelector<HTMLInputElement>(".rw-loss-log")!.checked).toBe(true);
  expect(Number(again.el.querySelector<HTMLInputElement>(".rw-loss-smoothing")!.value)).toBe(0.85);
  expect(again.smoothing).toBe(0.85);
  // Another widget's chart starts afresh.
  expect(new LossChart(SPEC, viewMemory("other")).smoothing).toBe(0.6);
});
