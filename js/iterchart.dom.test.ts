// @vitest-environment happy-dom
// The iterations chart in a DOM: no empty frame for a run without metric values.
import { describe, expect, test } from "vitest";

import { makeRow, makeRun } from "./fixtures";
import { IterationsChart } from "./iterchart";
import type { IterationRow, Snapshot } from "./model";

function state(rows: IterationRow[]): Snapshot {
  return { seq: 1, run: makeRun(), iterations: rows, details: {}, losses: {}, loss_chart: null, iterations_chart: null, goals: {} };
}

describe("IterationsChart", () => {
  test("hides while no iteration has a value of the metric (a run of losses only), shows once one has", () => {
    const spec = { data: { name: "iterations" }, mark: "point", encoding: { x: { field: "index", type: "quantitative" }, y: { field: "value", type: "quantitative" } } };
    const chart = new IterationsChart(spec, { onSelect: () => {} });
    chart.update(state([makeRow(1), makeRow(2)]), "1");
    expect(chart.el.hidden).toBe(true);
    chart.update(state([makeRow(1), makeRow(2, { metric: 0.9, best: 0.9 })]), "1");
    expect(chart.el.hidden).toBe(false);
    chart.finalize();
  });});
