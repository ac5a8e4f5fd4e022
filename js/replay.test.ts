// The replay's page logic: step deltas applied in place, the slider's position and
// what it writes, the view at a position, "Δ vs best" on compare's difference.
import { describe, expect, test } from "vitest";

import { applyBatch } from "./live";
import type { Snapshot, StepDelta, StepSnapshot } from "./model";
import { matrixDifference } from "./compare";
import { applyStep, replayView, stepAt, stepPosition, stepsOf } from "./replay";
import { makeRun } from "./fixtures";

function snap(step: number, counts: number[][], accuracy: number): StepSnapshot {
  return { step, confusion: { labels: ["cat", "dog"].slice(0, counts.length), counts, cells: null }, metrics: { accuracy } };
}

function delta(pos: number, s: StepSnapshot, split = "validation"): StepDelta {
  return { kind: "step", iteration: "7", split, pos, snapshot: s };
}

function empty(): Snapshot {
  return { seq: 0, run: makeRun(), iterations: [], details: {}, losses: {}, loss_chart: null, iterations_chart: null, goals: {} };
}

describe("replay", () => {
  test("a new step is appended, a rewritten one replaced, a hole refused", () => {
    const state = empty(); // a page saved before the replay has no `steps`
    expect(applyBatch(state, { seq: 1, deltas: [delta(0, snap(1, [[1]], 1)), delta(1, snap(2, [[1, 0], [1, 1]], 0.5))] })).toBe("applied");
    expect(applyBatch(state, { seq: 2, deltas: [delta(1, snap(2, [[2, 0], [1, 1]], 0.75)), delta(3, snap(9, [[1]], 1))] })).toBe("applied");
    const steps = stepsOf(state, "7", "validation");
    expect(steps.map((s) => [s.step, s.metrics["accuracy"]])).toEqual([[1, 1], [2, 0.75]]);
    expect(stepsOf(state, "7", "train")).toEqual([]);
    expect(stepsOf(state, null, "validation")).toEqual([]);
    applyStep(state, delta(0, snap(0.5, [[3]], 1), "train"));
    expect(stepsOf(state, "7", "train").map((s) => s.step)).toEqual([0.5]);
  });

  test("the slider sits at the step asked for, else at the latest; the last position writes null", () => {
    const steps = [snap(0, [[1]], 1), snap(2.5, [[1]], 1), snap(5, [[1]], 1)];
    expect(stepPosition(steps, null)).toBe(2);
    expect(stepPosition(steps, 2.5)).toBe(1);
    expect(stepPosition(steps, 4)).toBe(2); // not a step of this split
    expect(stepAt(steps, 0)).toBe(0);
    expect(stepAt(steps, 1)).toBe(2.5);
    expect(stepAt(steps, 2)).toBeNull(); // the latest follows new steps
    expect(replayView(steps, 2.5)).toEqual({ pos: 1, latest: false, snapshot: steps[1] });
    expect(replayView(steps, 5)).toMatchObject({ pos: 2, latest: true }); // pinned at the last: shown as it
    expect(replayView(steps, null).latest).toBe(true);
  });

  test("a new step at the latest moves the view along; a past step stays", () => {
    const state = empty();
    applyBatch(state, { seq: 1, deltas: [delta(0, snap(0, [[1]], 1)), delta(1, snap(1, [[1]], 1))] });
    expect(replayView(stepsOf(state, "7", "validation"), null).pos).toBe(1);
    expect(replayView(stepsOf(state, "7", "validation"), 0).pos).toBe(0);
    applyBatch(state, { seq: 2, deltas: [delta(2, snap(2, [[1]], 1))] });
    expect(replayView(stepsOf(state, "7", "validation"), null)).toMatchObject({ pos: 2, latest: true });
    expect(replayView(stepsOf(state, "7", "validation"), 0)).toMatchObject({ pos: 0, latest: false });
  });

  test("Δ vs best is the step's row-normalised matrix minus the best's, labels by name", () => {
    // the step has not seen "eel"; the best never predicted "dog" for a cat
    const step = { labels: ["cat", "dog"], counts: [[3, 1], [2, 2]], cells: null };
    const best = { labels: ["dog", "eel", "cat"], counts: [[4, 0, 0], [1, 1, 0], [0, 0, 5]], cells: null };
    const d = matrixDifference(step, best);
    expect(d.labels).toEqual(["cat", "dog", "eel"]);
    expect(d.diff).toEqual([
      [0.75 - 1, 0.25, 0],
      [0.5, 0.5 - 1, 0],
      [0, -0.5, -0.5],
    ]);
  });
});
