// @vitest-environment happy-dom
// The view's scheduling: a batch puts its rows on screen at once; the charts
// (vega compiles each spec) wait for the next paint. The chart modules are
// replaced by recorders: this is about when they are called.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";

import { makeRow, makeRun } from "./fixtures";
import type { Batch, Model, Snapshot, WidgetModel } from "./model";

const calls: string[] = [];

vi.mock("./charts", () => ({
  ChartGrid: class {
    el = document.createElement("div");
    show(): void {
      calls.push("detail charts");
    }
    clear(): void {}
  },
  LossChart: class {
    el = document.createElement("div");
    replace(): void {}
    append(): void {
      calls.push("loss points");
    }
    finalize(): void {}
  },
}));

vi.mock("./iterchart", () => ({
  IterationsChart: class {
    el = document.createElement("div");
    update(): void {
      calls.push("iterations chart");
    }
    finalize(): void {}
  },
}));

/** The part of anywidget's model the view uses, with a way to deliver messages. */
class FakeModel implements WidgetModel {
  private handlers = new Map<string, Set<(...a: unknown[]) => void>>();
  sent: unknown[] = [];
  constructor(private values: Model) {}
  get<K extends keyof Model>(name: K): Model[K] {
    return this.values[name];
  }
  set<K extends keyof Model>(name: K, value: Model[K]): void {
    this.values[name] = value;
  }
  save_changes(): void {}
  send(content: unknown): void {
    this.sent.push(content);
  }
  on(event: string, fn: (...a: unknown[]) => void): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)?.add(fn);
  }
  off(event: string, fn: (...a: unknown[]) => void): void {
    this.handlers.get(event)?.delete(fn);
  }
  emit(event: string, ...args: unknown[]): void {
    for (const fn of this.handlers.get(event) ?? []) fn(...args);
  }
}

function snapshot(seq: number): Snapshot {
  return {
    seq,
    run: makeRun({ auto: "1" }),
    iterations: [makeRow(1)],
    details: {},
    losses: {},
    loss_chart: null,
    iterations_chart: null,
    goals: {},
  };
}

async function view(uid: string, seq = 0) {
  const { default: widget } = await import("./index");
  const model = new FakeModel({
    selected: null,
    split: "validation",
    selected_cell: null,
    threshold: null,
    _threshold_exact: {},
    compared: null,
    _auto_selected: true,
    _snapshot: JSON.stringify(snapshot(seq)),
    _uid: uid,
    _bundle: "",
  });
  const el = document.createElement("div");
  document.body.replaceChildren(el);
  const dispose = widget.render({ model, el });
  const rows = () => [...el.querySelectorAll("tr.rw-row")].map((tr) => (tr as HTMLElement).dataset["id"]);
  return { model, el, dispose, rows };
}

describe("render", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "requestAnimationFrame", "cancelAnimationFrame", "Date"] });
    calls.length = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("a batch's new row is in the table before any chart is drawn; the charts follow the paint", async () => {
    const { model, dispose, rows } = await view("sched-1");
    vi.advanceTimersToNextFrame(); // the first render's charts
    vi.runOnlyPendingTimers();
    calls.length = 0;
    const batch: Batch = {
      seq: 1,
      deltas: [
        { kind: "iteration", row: makeRow(1, { metric: 0.5, is_best: true }) },
        { kind: "iteration", row: makeRow(2, { status: "running" }) },
        { kind: "loss", iteration: "1", points: [{ split: "train", step: 0, value: 1 }] },
      ],
    };
    model.emit("msg:custom", batch);
    expect(rows()).toEqual(["1", "2"]);
    expect(calls).not.toContain("detail charts");
    expect(calls).not.toContain("iterations chart");
    vi.advanceTimersToNextFrame();
    vi.runOnlyPendingTimers();
    expect(calls).toContain("detail charts");
    expect(calls).toContain("iterations chart");
    // Two batches before a paint: their charts are drawn once.
    calls.length = 0;
    model.emit("msg:custom", { seq: 2, deltas: [{ kind: "iteration", row: makeRow(3, { status: "running" }) }] });
    model.emit("msg:custom", { seq: 3, deltas: [{ kind: "iteration", row: makeRow(1, { metric: 0.6, is_best: true }) }] });
    expect(rows()).toEqual(["1", "2", "3"]);
    vi.advanceTimersToNextFrame();
    vi.runOnlyPendingTimers();
    expect(calls.filter((c) => c === "iterations chart")).toHaveLength(1);
    dispose();
  });

  test("a view that sees a gap asks the kernel for a snapshot, once", async () => {
    const { model, dispose, rows } = await view("sched-2");
    model.emit("msg:custom", { seq: 3, deltas: [{ kind: "iteration", row: makeRow(2) }] });
    model.emit("msg:custom", { seq: 4, deltas: [{ kind: "iteration", row: makeRow(3) }] });
    expect(model.sent).toEqual([{ kind: "snapshot" }]);
    expect(rows()).toEqual(["1"]); // waits
    const snap = snapshot(3);
    snap.iterations.push(makeRow(2));
    model.set("_snapshot", JSON.stringify(snap));
    model.emit("change:_snapshot");
    expect(rows()).toEqual(["1", "2", "3"]);
    dispose();
  });

  test("a running iteration's duration counts in the page from its start", async () => {
    vi.setSystemTime(new Date(100_000));
    const { model, el, dispose } = await view("sched-3");
    model.emit("msg:custom", {
      seq: 1,
      deltas: [{ kind: "iteration", row: makeRow(2, { status: "running", started: 90, duration: 10 }) }],
    });
    const cell = () => el.querySelector('tr.rw-row[data-id="2"]')?.querySelectorAll("td")[3]?.textContent;
    const before = cell();
    vi.advanceTimersByTime(5_000);
    expect(cell()).not.toBe(before);
    expect(cell()).toContain("15");
    dispose();
  });
});
