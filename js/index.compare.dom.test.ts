// @vitest-environment happy-dom
// Compare mode and the overfit gap in the view: a shift-click (or the "compare with"
// picker) sets `compared`, every panel shows both iterations from the details already
// in the page, the kernel's value is followed, Esc and the clear button leave. The
// chart modules are replaced by recorders.
import { afterEach, describe, expect, test, vi } from "vitest";

import { makeRow, makeRun } from "./fixtures";
import type { Detail, Model, Snapshot, Spec, SplitDetail, WidgetModel } from "./model";

const shown: Record<string, Spec>[] = [];

vi.mock("./charts", () => ({
  ChartGrid: class {
    el = document.createElement("div");
    show(specs: Record<string, Spec>): void {
      shown.push(specs);
    }
    clear(): void {}
  },
  LossChart: class {
    el = document.createElement("div");
    replace(): void {}
    append(): void {}
    finalize(): void {}
  },
  drawSpec: async () => null,
}));

vi.mock("./iterchart", () => ({
  IterationsChart: class {
    el = document.createElement("div");
    update(): void {}
    finalize(): void {}
  },
}));

class FakeModel implements WidgetModel {
  private handlers = new Map<string, Set<(...a: unknown[]) => void>>();
  saved: Partial<Model>[] = [];
  private pending: Partial<Model> = {};
  constructor(private values: Model) {}
  get<K extends keyof Model>(name: K): Model[K] {
    return this.values[name];
  }
  set<K extends keyof Model>(name: K, value: Model[K]): void {
    this.values[name] = value;
    this.pending[name] = value;
    this.emit(`change:${name}`);
  }
  save_changes(): void {
    this.saved.push(this.pending);
    this.pending = {};
  }
  send(): void {}
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
  /** A value set by the kernel (Python). */
  kernel(name: keyof Model, value: unknown): void {
    this.values = { ...this.values, [name]: value };
    this.emit(`change:${name}`);
  }
}

const curve = (series: string): Spec => ({
  data: { name: "roc", values: [{ series, rank: 0, kind: "class", fpr: 0, tpr: 1 }] },
  layer: [{ mark: { type: "line" }, encoding: { color: { field: "series", scale: { range: ["#4e79a7"] } }, strokeDash: { field: "kind" } } }],
});

function sd(acc: number, cm: number[][], f1: [number, number]): SplitDetail {
  return {
    metrics: { accuracy: acc, log_loss: 1 - acc },
    groups: [{ group: "label", metrics: ["accuracy", "log_loss"] }],
    reasons: {},
    per_class: [{ label: "a", f1: f1[0], support: 4 }, { label: "b", f1: f1[1], support: 4 }],
    per_class_columns: [["f1", "F1"], ["support", "Support"]],
    confusion: { labels: ["a", "b"], counts: cm, cells: null },
    charts: { roc: curve(`roc ${acc}`), lift: curve(`lift ${acc}`), per_class: { mark: "bar" } },
  };
}

function detail(id: string, acc: number, cm: number[][], train?: SplitDetail): Detail {
  const splits: Record<string, SplitDetail> = { validation: sd(acc, cm, [acc, acc / 2]) };
  if (train !== undefined) splits["train"] = train;
  return { iteration: id, final: true, params: [], splits, importance: null };
}

function snapshot(): Snapshot {
  return {
    seq: 1,
    run: makeRun({ status: "completed", auto: "1", best: "1" }),
    iterations: [makeRow(1, { is_best: true }), makeRow(2), makeRow(3)],
    details: {
      // Iteration 1 has both splits: its overfit gap shows.
      "1": detail("1", 0.75, [[3, 1], [1, 3]], sd(1, [[4, 0], [0, 4]], [1, 1])),
      "2": detail("2", 0.5, [[2, 2], [2, 2]]),
      "3": detail("3", 0.25, [[1, 3], [3, 1]]),
    },
    losses: {},
    loss_chart: null,
    iterations_chart: null,
    goals: {},
  };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  shown.length = 0;
});

async function setup() {
  const { default: widget } = await import("./index");
  const model = new FakeModel({
    selected: "1",
    split: "validation",
    selected_cell: null,
    compared: null,
    threshold: null,
    _threshold_exact: {},
    _auto_selected: true,
    _snapshot: JSON.stringify(snapshot()),
    _uid: `compare-${Math.random()}`,
    _bundle: "",
  });
  const host = document.createElement("div");
  document.body.replaceChildren(host);
  cleanup = widget.render({ model, el: host });
  await vi.waitFor(() => expect(host.querySelector(".rw-split")).not.toBeNull());
  const q = (s: string) => host.querySelector(s) as HTMLElement | null;
  const row = (id: string) => q(`tr.rw-row[data-id="${id}"]`)!;
  const shiftClick = (id: string) => row(id).dispatchEvent(new MouseEvent("click", { bubbles: true, shiftKey: true }));
  return { model, host, q, row, shiftClick };
}

describe("compare mode", () => {
  test("a shift-click compares: both columns and their difference, the table marks the row", async () => {
    const { model, q, row, shiftClick } = await setup();
    shiftClick("3");
    expect(model.get("compared")).toBe("3");
    expect(model.get("selected")).toBe("1"); // the shown iteration stays
    expect(model.saved).toEqual([{ compared: "3" }]);
    expect(row("3").classList.contains("rw-compared")).toBe(true);
    expect(q(".rw-detail-title")?.textContent).toBe("Iteration #1: m1  vs  #3: m3");
    const acc = q('.rw-compare-metrics tr[data-metric="accuracy"]')!;
    expect([...acc.querySelectorAll("td")].map((td) => td.textContent)).toEqual(["accuracy", "0.7500", "0.2500", "+0.5000"]);
    expect(q(".rw-compare-metrics th:last-child")?.textContent).toBe("\u0394 (#1 \u2212 #3)");
    // Per class: both F1s and their difference.
    const b = q('.rw-compare-per-class tr[data-label="b"]')!;
    expect([...b.querySelectorAll("td")].slice(0, 4).map((td) => td.textContent)).toEqual(["b", "0.3750", "0.1250", "+0.2500"]);
    // The matrix: row-normalised #1 minus #3.
    const cells = [...document.querySelectorAll(".rw-diff-matrix td")].map((td) => Number((td as HTMLElement).dataset["value"]));
    expect(cells).toEqual([0.5, -0.5, -0.5, 0.5]);
    expect(q(".rw-matrix:not(.rw-diff-matrix)")).toBeNull();
    // The curves overlaid (roc and lift), the per-class bars left out.
    await vi.waitFor(() => expect(shown.some((s) => "roc" in s && !("per_class" in s))).toBe(true));
    const last = shown.filter((s) => "roc" in s).at(-1)!;
    const rows = (last["roc"]!["data"] as { values: { iteration: string }[] }).values;
    expect(rows.map((r) => r.iteration)).toEqual(["#1", "#3"]);
    expect(q(".rw-gap")?.isConnected ?? false).toBe(false); // the gap is the single view's
  });

  test("a shift-click on the shown row does nothing; a plain click still selects", async () => {
    const { model, shiftClick, row } = await setup();
    shiftClick("1");
    expect(model.get("compared")).toBeNull();
    row("2").click();
    expect(model.get("selected")).toBe("2");
    expect(model.get("compared")).toBeNull();
  });

  test("Esc and the clear button leave compare mode; the picker enters it", async () => {
    const { model, q, shiftClick, host } = await setup();
    shiftClick("2");
    host.querySelector(".rw-root")!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(model.get("compared")).toBeNull();
    expect(q(".rw-compare-metrics")).toBeNull();
    const picker = q(".rw-compare-select") as HTMLSelectElement;
    expect([...picker.options].map((o) => o.value)).toEqual(["", "2", "3"]);
    picker.value = "3";
    picker.dispatchEvent(new Event("change"));
    expect(model.get("compared")).toBe("3");
    expect(q(".rw-compare-metrics")).not.toBeNull();
    q(".rw-compare-clear")!.click();
    expect(model.get("compared")).toBeNull();
  });

  test("the kernel's value is followed both ways", async () => {
    const { model, q, row } = await setup();
    model.kernel("compared", "2");
    expect(q(".rw-detail-title")?.textContent).toBe("Iteration #1: m1  vs  #2: m2");
    expect(row("2").classList.contains("rw-compared")).toBe(true);
    model.kernel("compared", null);
    expect(q(".rw-compare-metrics")).toBeNull();
    expect(row("2").classList.contains("rw-compared")).toBe(false);
  });
});

describe("the overfit gap", () => {
  test("an iteration with train and validation shows train - validation, the largest class gap flagged", async () => {
    const { q } = await setup();
    const acc = q('.rw-gap-metrics tr[data-metric="accuracy"]')!;
    expect([...acc.querySelectorAll("td")].slice(0, 4).map((td) => td.textContent)).toEqual(["accuracy", "1.0000", "0.7500", "+0.2500"]);
    const flagged = [...document.querySelectorAll(".rw-gap-classes tr.rw-gap-flagged")].map((tr) => (tr as HTMLElement).dataset["label"]);
    expect(flagged).toEqual(["a", "b"]); // F1 gaps 0.25 and 0.625, both at least 0.05
    expect(q(".rw-gap")?.hidden).toBe(false);
  });

  test("an iteration with one split has no gap panel", async () => {
    const { q, row } = await setup();
    row("2").click();
    expect(q(".rw-gap")?.hidden).toBe(true);
  });
});
