// Applying the kernel's numbered delta batches to the state a view draws.
// A batch applies only right after the one before it; after a gap the view
// waits for the next `_snapshot` (messages sent before a view exists are lost).
import type { Batch, Delta, Snapshot } from "./model";
import { applyStep } from "./replay";

/** What happened to a batch handed to `applyBatch`. */
export type Outcome = "applied" | "stale" | "gap";

/**
 * A snapshot of its own from a trait value: parsed from the JSON text the
 * kernel sends, or a deep copy of an object, so applying deltas never mutates
 * a trait value.
 */
export function cloneSnapshot(s: Snapshot | string): Snapshot {
  return JSON.parse(typeof s === "string" ? s : JSON.stringify(s)) as Snapshot;
}

/** Apply `batch` to `state` in place when it is the next one (the twin of `_push.apply_batch`). */
export function applyBatch(state: Snapshot, batch: Batch): Outcome {
  if (batch.seq <= state.seq) return "stale";
  if (batch.seq !== state.seq + 1) return "gap";
  for (const d of batch.deltas) applyDelta(state, d);
  state.seq = batch.seq;
  return "applied";
}

function applyDelta(state: Snapshot, d: Delta): void {
  switch (d.kind) {
    case "run":
      state.run = d.run;
      break;
    case "iteration": {
      const rows = state.iterations;
      const at = rows.findIndex((r) => r.id === d.row.id);
      if (at >= 0) rows[at] = d.row;
      else rows.push(d.row);
      if (d.row.is_best) {
        for (const r of rows) if (r.id !== d.row.id) r.is_best = false;
      }
      break;
    }
    case "detail":
      state.details[d.detail.iteration] = d.detail;
      break;
    case "loss": {
      const list = (state.losses[d.iteration] ??= []);
      list.push(...d.points);
      break;
    }
    case "step":
      applyStep(state, d);
      break;
  }
}

/** Why the listeners are called: a batch (with its deltas) or a fresh snapshot. */
export type Update = { kind: "batch"; deltas: Delta[] } | { kind: "reset" };

/**
 * The live state of one widget model: starts from a snapshot, applies
 * batches in order, keeps batches that arrive after a gap until a snapshot
 * catches up with them, and tells its listeners what changed.
 */
export class Live {
  state: Snapshot;
  /** Time (ms since the epoch) of the last news from the kernel. */
  updated: number;
  private held = new Map<number, Batch>();
  private listeners = new Set<(u: Update) => void>();

  constructor(snapshot: Snapshot | string, now: number = Date.now()) {
    this.state = cloneSnapshot(snapshot);
    this.updated = now;
  }

  /** Whether batches are waiting for a snapshot (a gap was seen). */
  get waiting(): boolean {
    return this.held.size > 0;
  }

  listen(fn: (u: Update) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** A custom message from the kernel. */
  receive(batch: Batch, now: number = Date.now()): Outcome {
    const outcome = applyBatch(this.state, batch);
    if (outcome === "gap") {
      this.held.set(batch.seq, batch);
    } else if (outcome === "applied") {
      this.updated = now;
      this.emit({ kind: "batch", deltas: batch.deltas });
      this.drain();
    }
    return outcome;
  }

  /**
   * A snapshot that may be no news (a view's trait value, another view's
   * copy): taken only when newer than this state. True when taken.
   */
  offer(value: Snapshot | string, now: number = Date.now()): boolean {
    const snapshot = cloneSnapshot(value);
    if (snapshot.seq <= this.state.seq) return false;
    return this.reset(snapshot, now);
  }

  /** A new `_snapshot` trait value; ignored when this state is already newer. */
  reset(value: Snapshot | string, now: number = Date.now()): boolean {
    const snapshot = cloneSnapshot(value);
    if (snapshot.seq < this.state.seq) return false;
    this.state = snapshot;
    this.updated = now;
    for (const seq of [...this.held.keys()]) if (seq <= snapshot.seq) this.held.delete(seq);
    this.emit({ kind: "reset" });
    this.drain();
    return true;
  }

  private drain(): void {
    for (;;) {
      const next = this.held.get(this.state.seq + 1);
      if (next === undefined) return;
      this.held.delete(next.seq);
      applyBatch(this.state, next);
      this.emit({ kind: "batch", deltas: next.deltas });
    }
  }

  private emit(u: Update): void {
    for (const fn of this.listeners) fn(u);
  }
}

// One Live per widget (its `_uid`) in this page, shared by its views: a view
// opened while a cell runs a loop starts from what the views already open
// followed, not from the `_snapshot` trait, which the kernel no longer
// refreshes while views follow the batches (and cannot refresh on request
// while the cell runs). On globalThis, like memory.ts: a rebuilt bundle finds it.
const SHARED = "__runwatch_live";

interface Shared {
  live: Live;
  views: number;
}

/**
 * The live state of the widget `uid` for one more view: the one its open
 * views share (brought up to `snapshot` if that is newer), else a new one
 * from `snapshot`. `release` when the view goes; the last one drops it.
 * An empty `uid` (a page without one) shares nothing.
 */
export function acquireLive(uid: string, snapshot: Snapshot | string): { live: Live; release: () => void } {
  if (!uid) return { live: new Live(snapshot), release: () => undefined };
  const g = globalThis as unknown as Record<string, Map<string, Shared> | undefined>;
  const all = (g[SHARED] ??= new Map<string, Shared>());
  let entry = all.get(uid);
  if (entry === undefined) {
    entry = { live: new Live(snapshot), views: 0 };
    all.set(uid, entry);
  } else {
    entry.live.offer(snapshot);
  }
  entry.views += 1;
  const held = entry;
  let released = false;
  return {
    live: held.live,
    release: () => {
      if (released) return;
      released = true;
      held.views -= 1;
      if (held.views === 0 && all.get(uid) === held) all.delete(uid);
    },
  };
}
