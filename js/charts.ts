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

/** Panel order of the detail charts; names not listed follow, by name. */
export const CHART_ORDER = ["per_class", "roc", "pr", "lift", "gains", "calibration", "predicted_vs_true", "residuals", "importance"];

/** `specs` as [name, spec] pairs in CHART_ORDER. */
export function orderedCharts(specs: Record<string, Spec>): [string, Spec][] {
  const rank = (n: string): number => {
    const i = CHART_ORDER.indexOf(n);
    return i < 0 ? CHART_ORDER.length : i;
  };
  return Object.entries(specs).sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

function sameSpecs(a: Record<string, Spec>, b: Record<string, Spec>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
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

  show(specs: Record<string, Spec>, empty = "Charts appear when the iteration has finished."): void {
    if (this.specs !== null && sameSpecs(specs, this.specs)) return;
    this.specs = specs;
    this.clear();
    for (const [name, spec] of orderedCharts(specs)) {
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
      p.textContent = empty;
      this.el.appendChild(p);
    }
  }

  clear(): void {
    for (const r of this.results) void r.then((x) => x?.finalize());
    this.results = [];
    this.el.replaceChildren();
  }
}

/** The splits that have points, in the fixed order train, validation, test (others after, by name). */
export function presentSplits(points: readonly LossPoint[]): string[] {
  const seen = new Set(points.map((p) => p.split));
  const order = ["train", "validation", "test"];
  return [...order.filter((s) => seen.has(s)), ...[...seen].filter((s) => !order.includes(s)).sort()];
}

/**
 * A copy of the loss chart's spec whose legend lists only `splits` (the colour
 * scale keeps its fixed domain, so a split never changes colour); no legend
 * when no split has points.
 */
export function withLegendSplits(spec: Spec, splits: readonly string[]): Spec {
  const copy = JSON.parse(JSON.stringify(spec)) as Spec;
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    const rec = node as Record<string, unknown>;
    const enc = rec["encoding"] as Record<string, Record<string, unknown>> | undefined;
    const color = enc?.["color"];
    if (color !== undefined && color["field"] === "split") {
      const legend = color["legend"];
      color["legend"] = splits.length === 0 ? null : { ...(typeof legend === "object" && legend !== null ? legend : {}), values: [...splits] };
    }
    if (Array.isArray(rec["layer"])) visit(rec["layer"]);
  };
  visit(copy);
  return copy;
}

/** The loss chart of the selected iteration, appended to without resending history. */
export class LossChart {
  readonly el: HTMLElement;
  private result: Promise<Result | null> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private rows: LossPoint[] = [];
  private legendFor: string | null = null;

  constructor(private spec: Spec | null) {
    this.el = document.createElement("div");
    this.el.className = "rw-chart rw-loss";
  }

  /** Draw afresh when the splits with points changed (the legend lists only those). */
  private redrawIfNewSplits(): boolean {
    const splits = presentSplits(this.rows);
    this.el.hidden = splits.length === 0; // no empty "Loss" frame for runs that log none
    const key = splits.join("\n");
    if (key === this.legendFor || this.spec === null) return false;
    this.legendFor = key;
    const spec = withLegendSplits(this.spec, splits);
    const old = this.result;
    const rows = this.rows.map((p) => ({ ...p }));
    this.result = this.queue.then(async () => {
      void old?.then((r) => r?.finalize());
      const r = await drawSpec(this.el, spec).catch(() => null);
      if (r !== null) {
        r.view.change("loss", changeset().insert(rows));
        await r.view.resize().runAsync();
      }
      return r;
    });
    this.queue = this.result;
    return true;
  }

  private run(fn: (r: Result) => void): void {
    const result = this.result;
    this.queue = this.queue.then(async () => {
      const r = await result;
      if (r === null || r === undefined) return;
      fn(r);
      // resize(): recompute the autosize padding, else axis labels that grow with
      // the new data are clipped; runAsync: one run at a time (vega/vega#2513).
      await r.view.resize().runAsync();
    });
  }

  /** Replace the points (a new iteration was selected, or a snapshot arrived). */
  replace(points: readonly LossPoint[]): void {
    this.rows = points.map((p) => ({ ...p }));
    if (this.redrawIfNewSplits()) return;
    const rows = this.rows.map((p) => ({ ...p }));
    this.run((r) => r.view.change("loss", changeset().remove(() => true).insert(rows)));
  }

  /** Append new points. */
  append(points: readonly LossPoint[]): void {
    const rows = points.map((p) => ({ ...p }));
    this.rows.push(...rows);
    if (this.redrawIfNewSplits()) return;
    this.run((r) => r.view.change("loss", changeset().insert(rows.map((p) => ({ ...p })))));
  }

  finalize(): void {
    void this.result?.then((r) => r?.finalize());
  }
}
