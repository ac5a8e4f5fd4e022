// @vitest-environment happy-dom
// The widget's handlers against a model that behaves as marimo's does: `set`
// fires `change:<name>` at once, even for an equal value, and a kernel update
// applies its keys one at a time, in the order they came. No handler may set a
// value it just received (or an equal one): under such a model the two would
// call each other forever.
import { afterEach, describe, expect, test, vi } from "vitest";

import { makeRow, makeRun } from "./fixtures";
import widget from "./index";
import type { Detail, Model, Snapshot, WidgetModel } from "./model";

type Callback = (...args: unknown[]) => void;

/** marimo's anywidget model, as far as the widget can tell (plugins/impl/anywidget/model.ts). */
class MarimoLikeModel implements WidgetModel {
  /** What the page set, in order, and how many times it asked to save. */
  sets: [string, unknown][] = [];
  saves = 0;
  listeners = new Map<string, Set<Callback>>();
  private fromKernel = false;

  constructor(private data: Model) {}

  get<K extends keyof Model>(name: K): Model[K] {
    return this.data[name];
  }

  set<K extends keyof Model>(name: K, value: Model[K]): void {
    if (!this.fromKernel) this.sets.push([name, value]);
    // A loop shows as a thousand sets; stop it before the stack does.
    if (this.sets.length > 1000) throw new Error("model.set loops");
    this.data = { ...this.data, [name]: value };
    for (const fn of this.listeners.get(`change:${name}`) ?? []) fn(value);
  }

  save_changes(): void {
    this.saves += 1;
  }

  send(): void {}

  on(event: string, fn: Callback): void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(fn);
  }

  off(event: string, fn: Callback): void {
    this.listeners.get(event)?.delete(fn);
  }

  /** The kernel's update message: each key that differs is set, in the message's order. */
  kernel(state: Partial<Model>): void {
    this.fromKernel = true;
    try {
      for (const [k, v] of Object.entries(state) as [keyof Model, never][]) {
        if (JSON.stringify(this.data[k]) !== JSON.stringify(v)) this.set(k, v);
      }
    } finally {
      this.fromKernel = false;
    }
  }
}

function detail(id: string): Detail {
  const split = {
    metrics: { accuracy: 0.9 },
    groups: [{ group: "label", metrics: ["accuracy"] }],
    reasons: {},
    per_class: [],
    confusion: { labels: ["a", "b"], counts: [[3, 1], [0, 4]], cells: null },
    charts: {},
  };
  return { iteration: id, final: true, params: [], splits: { validation: split, test: split }, importance: null };
}

/** A finished run of three iterations; "3" is the best and shown until the user picks. */
function snapshot(): Snapshot {
  const rows = [1, 2, 3].map((i) => makeRow(i, { metric: i / 10, best: i / 10, is_best: i === 3 }));
  return {
    seq: 1,
    run: makeRun({ status: "completed", best: "3", auto: "3", started: 1_000, ended: 1_060 }),
    iterations: rows,
    details: { "1": detail("1"), "2": detail("2"), "3": detail("3") },
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
});

async function setup(snap: Snapshot = snapshot()) {
  const model = new MarimoLikeModel({
    selected: "3",
    split: "validation",
    selected_cell: null,
    threshold: null,
    _threshold_exact: {},
    compared: null,
    _auto_selected: true,
    _snapshot: snap,
    _uid: `marimo-${Math.random()}`,
    _bundle: "",
  });
  const host = document.createElement("div");
  document.body.replaceChildren(host);
  cleanup = widget.render({ model, el: host });
  // The detail is drawn after the first paint.
  await vi.waitFor(() => expect(host.querySelector(".rw-split")).not.toBeNull());
  const row = (id: string) => host.querySelector(`tr.rw-row[data-id="${id}"]`) as HTMLElement;
  const title = () => host.querySelector(".rw-detail-title")?.textContent;
  const header = () => host.querySelector(".rw-header") as HTMLElement;
  return { model, host, row, title, header };
}

describe("the widget under a model that fires change on every set (marimo)", () => {
  test("a click sets the pick once and saves once", async () => {
    const { model, row, title } = await setup();
    row("2").click();
    expect(model.sets).toEqual([
      ["selected", "2"],
      ["_auto_selected", false],
    ]);
    expect(model.saves).toBe(1);
    expect(title()).toBe("Iteration #2: m2");
    // Clicking the shown row again changes nothing, so nothing is set or sent.
    row("2").click();
    expect(model.sets).toHaveLength(2);
    expect(model.saves).toBe(1);
  });

  test("clicking the automatic pick makes it the user's without setting `selected`", async () => {
    const { model, row } = await setup();
    row("3").click();
    expect(model.sets).toEqual([["_auto_selected", false]]);
    expect(model.saves).toBe(1);
  });

  test.each([
    ["selected first", { selected: "1", _auto_selected: true }],
    ["_auto_selected first", { _auto_selected: true, selected: "1" }],
  ])("the kernel's automatic move (%s) does not undo a pick it has not seen", async (_, update) => {
    const { model, row, title } = await setup();
    row("2").click();
    model.sets = [];
    model.saves = 0;
    model.kernel(update);
    await Promise.resolve();
    // The page says once more what it picked, and stops there.
    expect(model.sets).toEqual([
      ["selected", "2"],
      ["_auto_selected", false],
    ]);
    expect(model.saves).toBe(1);
    expect(title()).toBe("Iteration #2: m2");
  });

  test("the kernel's automatic moves and a pick made in Python are followed, nothing set back", async () => {
    const { model, title } = await setup();
    // The detail follows after the next paint (the table first).
    model.kernel({ selected: "2", _auto_selected: true });
    await vi.waitFor(() => expect(title()).toBe("Iteration #2: m2"));
    model.kernel({ selected: "1", _auto_selected: false });
    await vi.waitFor(() => expect(title()).toBe("Iteration #1: m1"));
    expect(model.sets).toEqual([]);
    expect(model.saves).toBe(0);
  });

  test("the split and the matrix cell are set once per click, and not again when equal", async () => {
    const { model, host } = await setup();
    const split = (s: string) => host.querySelector(`.rw-split[data-split="${s}"]`) as HTMLElement;
    split("test").click();
    expect(model.sets).toEqual([["split", "test"]]);
    split("test").click();
    expect(model.sets).toEqual([["split", "test"]]);
    const cell = () => host.querySelector(".rw-matrix td.rw-clickable") as HTMLElement;
    cell().click();
    expect(model.sets).toHaveLength(2);
    expect(model.sets[1]?.[0]).toBe("selected_cell");
    cell().click();
    expect(model.sets).toHaveLength(2);
    expect(model.saves).toBe(2);
  });
});

describe("the detail", () => {
  test("a finished iteration without charts does not promise charts", async () => {
    const { host } = await setup();
    await vi.waitFor(() => expect(host.querySelector(".rw-matrix")).not.toBeNull());
    expect(host.textContent).not.toContain("Charts appear");
  });
});

describe("the header", () => {
  test("a finished run shows when it finished, not how long ago the page heard from it", async () => {
    const { header } = await setup();
    expect(header().querySelector(".rw-updated")).toBeNull();
    expect(header().querySelector(".rw-finished")?.textContent).toMatch(/^finished (\d+ [A-Z][a-z]{2} (\d{4} )?)?\d\d:\d\d$/);
  });

  test("a running run shows its news' age until it ends, then when it ended", async () => {
    const running = snapshot();
    running.run = makeRun({ status: "running", best: "3", auto: "3", started: 1_000, ended: null });
    const { model, header } = await setup(running);
    expect(header().querySelector(".rw-updated")?.textContent).toMatch(/^updated \d+ s ago$/);
    expect(header().querySelector(".rw-finished")).toBeNull();
    const failed = makeRun({ status: "failed", best: "3", auto: "3", started: 1_000, ended: 1_090 });
    for (const fn of model.listeners.get("msg:custom") ?? []) fn({ seq: 2, deltas: [{ kind: "run", run: failed }] });
    expect(header().querySelector(".rw-updated")).toBeNull();
    expect(header().querySelector(".rw-finished")?.textContent).toMatch(/^ended /);
  });

  test("the task is the title's tooltip, and the count is short", async () => {
    const { header } = await setup();
    const title = header().querySelector(".rw-title") as HTMLElement;
    expect(title.textContent).toBe("r");
    expect(title.title).toBe("r: classification, primary metric accuracy (maximize)");
    expect(header().querySelector(".rw-count")?.textContent).toBe("3 of 3 done");
  });
});
