import { describe, expect, test } from "vitest";

import { chartRows, chartableMetrics, metricValue, retitled } from "./iterchart";
import { makeRow, makeRun } from "./fixtures";
import type { Detail, IterationRow, Snapshot } from "./model";

function row(index: number, metric: number | null): IterationRow {
  return makeRow(index, { metric });
}

function detail(id: string, metrics: Record<string, number | null>, split = "validation"): Detail {
  return { iteration: id, final: true, params: [], importance: null, splits: { [split]: { metrics, groups: [], reasons: {}, per_class: [], confusion: null, charts: {} } } };
}

function state(rows: IterationRow[], details: Detail[] = []): Snapshot {
  return {
    seq: 1,
    run: makeRun(),
    iterations: rows,
    details: Object.fromEntries(details.map((d) => [d.iteration, d])),
    losses: {},
    loss_chart: null,
    iterations_chart: null,
    goals: { log_loss: "minimize", accuracy: "maximize" },
  };
}

describe("the iterations chart's rows", () => {
  test("best so far steps with the goal and marks the first best", () => {
    const s = state([row(1, 0.5), row(2, null), row(3, 0.7), row(4, 0.7), row(5, 0.6)]);
    const rows = chartRows(s, "accuracy", "3");
    expect(rows.map((r) => r.best)).toEqual([0.5, 0.5, 0.7, 0.7, 0.7]);
    expect(rows.map((r) => r.is_best)).toEqual([false, false, true, false, false]);
    expect(rows.map((r) => r.selected)).toEqual([false, false, true, false, false]);
    expect(rows[1]?.value).toBeNull();
  });

  test("another metric comes from the details, minimised when its goal says so", () => {
    const s = state([row(1, 0.5), row(2, 0.6), row(3, 0.4)], [
      detail("1", { accuracy: 0.5, log_loss: 0.9 }),
      detail("2", { accuracy: 0.6, log_loss: 1.2 }, "train"),
      detail("3", { accuracy: 0.4, log_loss: 0.3 }),
    ]);
    expect(chartableMetrics(s)).toEqual(["accuracy", "log_loss"]);
    expect(metricValue(s, "2", "log_loss")).toBe(1.2); // train when it is the only split
    const rows = chartRows(s, "log_loss", null);
    expect(rows.map((r) => r.best)).toEqual([0.9, 0.9, 0.3]);
    expect(rows.map((r) => r.is_best)).toEqual([false, false, true]);
  });

  test("rows follow run order, not the order they arrived in", () => {
    const rows = chartRows(state([row(2, 0.2), row(1, 0.1)]), "accuracy", null);
    expect(rows.map((r) => r.index)).toEqual([1, 2]);
  });

  test("retitled sets every layer's y title and leaves the spec alone", () => {
    const spec = { layer: [{ encoding: { y: { field: "best", title: "metric" } } }, { encoding: { y: { field: "value" } } }] };
    const out = retitled(spec, "log_loss") as { layer: { encoding: { y: { title: string } } }[] };
    expect(out.layer.map((l) => l.encoding.y.title)).toEqual(["log_loss", "log_loss"]);
    expect(spec.layer[0]?.encoding.y.title).toBe("metric");
  });
});
