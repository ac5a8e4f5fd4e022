import { describe, expect, test } from "vitest";

import { Live, acquireLive, applyBatch, type Update } from "./live";
import { makeRow, makeRun } from "./fixtures";
import type { Batch, IterationRow, Snapshot } from "./model";

function snapshot(seq = 0): Snapshot {
  return {
    seq,
    run: makeRun(),
    iterations: [],
    details: {},
    losses: {},
    loss_chart: null,
    iterations_chart: null,
    goals: {},
  };
}

function row(id: string, metric: number | null, is_best = false): IterationRow {
  return makeRow(Number(id), { metric, best: metric, is_best });
}

const loss = (iteration: string, ...values: number[]) => ({
  kind: "loss" as const,
  iteration,
  points: values.map((value, step) => ({ split: "train", step, value })),
});

describe("applyBatch", () => {
  test("applies the next batch: rows replace by id, best moves, losses append", () => {
    const s = snapshot();
    expect(applyBatch(s, { seq: 1, deltas: [{ kind: "iteration", row: row("1", 0.8, true) }, loss("1", 0.9, 0.7)] })).toBe("applied");
    expect(applyBatch(s, { seq: 2, deltas: [{ kind: "iteration", row: row("2", 0.9, true) }, loss("1", 0.5)] })).toBe("applied");
    expect(s.seq).toBe(2);
    expect(s.iterations.map((r) => [r.id, r.is_best])).toEqual([
      ["1", false],
      ["2", true],
    ]);
    expect(s.losses["1"]?.map((p) => p.value)).toEqual([0.9, 0.7, 0.5]);
    expect(applyBatch(s, { seq: 3, deltas: [{ kind: "iteration", row: { ...row("1", 0.8), status: "failed" } }] })).toBe("applied");
    expect(s.iterations).toHaveLength(2);
    expect(s.iterations[0]?.status).toBe("failed");
  });

  test("a repeated batch is stale and a skipped number is a gap; neither changes the state", () => {
    const s = snapshot(4);
    expect(applyBatch(s, { seq: 4, deltas: [loss("1", 1)] })).toBe("stale");
    expect(applyBatch(s, { seq: 6, deltas: [loss("1", 1)] })).toBe("gap");
    expect(s.seq).toBe(4);
    expect(s.losses).toEqual({});
  });
});

describe("Live", () => {
  test("after a gap it holds batches until a snapshot catches up, then applies the rest in order", () => {
    const live = new Live(snapshot(0));
    const seen: Update["kind"][] = [];
    live.listen((u) => seen.push(u.kind));
    const b = (seq: number, v: number): Batch => ({ seq, deltas: [loss("1", v)] });
    expect(live.receive(b(1, 1))).toBe("applied");
    expect(live.receive(b(3, 3))).toBe("gap");
    expect(live.receive(b(4, 4))).toBe("gap");
    expect(live.waiting).toBe(true);
    expect(live.state.seq).toBe(1);
    // The snapshot as of batch 3 (it holds points 1, 2, 3); batch 4 is then applied from the hold.
    const snap = snapshot(3);
    snap.losses["1"] = [1, 2, 3].map((value, step) => ({ split: "train", step, value }));
    expect(live.reset(snap)).toBe(true);
    expect(live.state.seq).toBe(4);
    expect(live.state.losses["1"]?.map((p) => p.value)).toEqual([1, 2, 3, 4]);
    expect(live.waiting).toBe(false);
    expect(seen).toEqual(["batch", "reset", "batch"]);
  });

  test("an older snapshot is ignored, and the trait value is never mutated", () => {
    const snap = snapshot(0);
    const live = new Live(snap);
    live.receive({ seq: 1, deltas: [loss("7", 0.5)] });
    expect(snap.losses).toEqual({});
    expect(live.reset(snapshot(0))).toBe(false);
    expect(live.state.losses["7"]).toHaveLength(1);
  });

  test("takes the kernel's snapshot as JSON text, as an object where a page embeds one", () => {
    const live = new Live(JSON.stringify(snapshot(2)));
    expect(live.state.seq).toBe(2);
    expect(live.reset(JSON.stringify({ ...snapshot(5), iterations: [row("1", 0.5)] }))).toBe(true);
    expect(live.state.iterations.map((r) => r.id)).toEqual(["1"]);
    expect(live.reset(snapshot(4))).toBe(false); // older, as text or not
  });
});


describe("offer", () => {
  test("takes a newer snapshot only: the same seq is no news and draws nothing", () => {
    const live = new Live(snapshot(2));
    const seen: Update["kind"][] = [];
    live.listen((u) => seen.push(u.kind));
    expect(live.offer(JSON.stringify(snapshot(2)))).toBe(false);
    expect(live.offer(snapshot(1))).toBe(false);
    expect(seen).toEqual([]);
    expect(live.offer(JSON.stringify(snapshot(3)))).toBe(true);
    expect(live.state.seq).toBe(3);
    expect(seen).toEqual(["reset"]);
  });
});

describe("acquireLive", () => {
  const b = (seq: number, v: number): Batch => ({ seq, deltas: [loss("1", v)] });

  test("a second view of a widget starts from what the open view followed, not the older trait", () => {
    const trait = JSON.stringify(snapshot(0)); // the kernel no longer refreshes it mid-loop
    const first = acquireLive("uid-a", trait);
    for (let seq = 1; seq <= 5; seq++) first.live.receive(b(seq, seq));
    const second = acquireLive("uid-a", trait);
    expect(second.live.state.seq).toBe(5);
    expect(second.live.state.losses["1"]).toHaveLength(5);
    // Both views get batch 6 (each view listens on its model): applied once.
    expect(second.live.receive(b(6, 6))).toBe("applied");
    expect(first.live.receive(b(6, 6))).toBe("stale");
    expect(first.live.state.losses["1"]).toHaveLength(6);
    first.release();
    second.release();
    second.release(); // twice: no effect
    // Once every view is gone, a new one starts from the trait it is given.
    const third = acquireLive("uid-a", JSON.stringify(snapshot(2)));
    expect(third.live.state.seq).toBe(2);
    third.release();
  });

  test("a newer trait value brings the shared state up, and other widgets are apart", () => {
    const a = acquireLive("uid-b", snapshot(1));
    const other = acquireLive("uid-c", snapshot(0));
    const again = acquireLive("uid-b", snapshot(4));
    expect(a.live.state.seq).toBe(4);
    expect(other.live.state.seq).toBe(0);
    expect(acquireLive("", snapshot(0)).live).not.toBe(acquireLive("", snapshot(0)).live);
    a.release();
    again.release();
    other.release();
  });
});
