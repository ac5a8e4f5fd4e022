// Charts: Vega-Lite specs built in the kernel (runwatch.views), drawn with the
// bundled vega-embed (never a CDN). The loss chart's named data set "loss" is
// filled and appended to with Vega changesets, one run at a time.
import embed, { type Result } from "vega-embed";
import { changeset } from "vega";
import type { LossPoint, Spec } from "./model";

/** Draw `spec` into `el`; returns the embed result (call `.finalize()` to free it). */
export async function drawSpec(el: HTMLElement, spec: Spec): Promise<Result> {
  // `actions: false`: no export menu (it links to the online editor).
  return embed(el, spec as never, { actions: false, renderer: "svg", tooltip: true });
}

/** A set of charts in one panel, redrawn when the specs change. */
export class ChartGrid {
  readonly el: HTMLElement;
  private results: Promise<Result | null>[] = [];
  private specs: Record<string, Spec> | null = null;

  constructor() {
    this.el = document.createElement("div");
    this.el.className = "rw-charts";
  }

  show(specs: Record<string, Spec>): void {
    if (specs === this.specs) return;
    this.specs = specs;
    this.clear();
    for (const [name, spec] of Object.entries(specs)) {
      const box = document.createElement("div");
      box.className = `rw-chart rw-chart-${name.replace(/[^a-z_]/g, "")}`;
      this.el.appendChild(box);
      this.results.push(drawSpec(box, spec).catch((e: unknown) => {
        box.textContent = `Chart failed: ${String(e)}`;
        return null;
      }));
    }
    if (Object.keys(specs).length === 0) {
      const p = document.createElement("p");
      p.className = "rw-empty";
      p.textContent = "Charts appear when the iteration has finished.";
      this.el.appendChild(p);
    }
  }

  clear(): void {
    for (const r of this.results) void r.then((x) => x?.finalize());
    this.results = [];
    this.el.replaceChildren();
  }
}

/** The loss chart of the selected iteration, appended to without resending history. */
export class LossChart {
  readonly el: HTMLElement;
  private result: Promise<Result | null> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private spec: Spec | null) {
    this.el = document.createElement("div");
    this.el.className = "rw-chart rw-loss";
  }

  private ready(): Promise<Result | null> {
    if (this.result === null) {
      this.result = this.spec === null ? Promise.resolve(null) : drawSpec(this.el, this.spec).catch(() => null);
    }
    return this.result;
  }

  private run(fn: (r: Result) => void): void {
    this.queue = this.queue.then(async () => {
      const r = await this.ready();
      if (r === null) return;
      fn(r);
      // resize(): recompute the autosize padding, else axis labels that grow with
      // the new data are clipped; runAsync: one run at a time (vega/vega#2513).
      await r.view.resize().runAsync();
    });
  }

  /** Replace the points (a new iteration was selected, or a snapshot arrived). */
  replace(points: readonly LossPoint[]): void {
    const rows = points.map((p) => ({ ...p }));
    this.run((r) => r.view.change("loss", changeset().remove(() => true).insert(rows)));
  }

  /** Append new points. */
  append(points: readonly LossPoint[]): void {
    const rows = points.map((p) => ({ ...p }));
    this.run((r) => r.view.change("loss", changeset().insert(rows)));
  }

  finalize(): void {
    void this.result?.then((r) => r?.finalize());
  }
}
