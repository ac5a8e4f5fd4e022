// Builders of the contract's records for the front end's tests (vitest); the
// widget's bundle never imports this file. A field added to model.ts gets its
// default here once, not in every test.
import type { IterationRow, RunInfo } from "./model";

/** A finished iteration row: id and name from `index`, everything else overridable. */
export function makeRow(index: number, over: Partial<IterationRow> = {}): IterationRow {
  return {
    id: String(index),
    index,
    name: `m${index}`,
    status: "completed",
    started: null,
    duration: 1,
    metric: null,
    best: null,
    is_best: false,
    ...over,
  };
}

/** A running classification run maximising accuracy. */
export function makeRun(over: Partial<RunInfo> = {}): RunInfo {
  return {
    name: "r",
    task: "classification",
    primary_metric: "accuracy",
    goal: "maximize",
    status: "running",
    best: null,
    auto: null,
    started: null,
    ended: null,
    ...over,
  };
}
