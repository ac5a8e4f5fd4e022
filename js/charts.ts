// Charts: Vega-Lite specs built in the kernel (runwatch.views), drawn with the
// bundled vega-embed (never a CDN). The loss chart's named data set "loss" is
// filled and appended to with Vega changesets, one run at a time.
import embed, { type Result } from "vega-embed";
import { changeset } from "vega";
import type { ViewMemory } from "./memory";
import type { LossPoint, Spec } from "./model";
import { clampSmoothing, Ema, MAX_SMOOTHING } from "./smoothing";
import { nextTask } from "./tasks";

/** Draw `spec` into `el`; returns the embed result (call `.finalize()` to free it). */
export async function drawSpec(el: HTMLElement, spec: Spec): Promise<Result> {
  // `actions: false`: no export menu (it links to the online editor).
  return embed(el, spec as never, { actions: false, renderer: "svg", tooltip: true });
}

/** Panel order of the detail charts; names not listed follow, by name. */
export const CHART_ORDER = ["per_class", "roc", "pr", "matched_iou", "lift", "gains", "calibration", "predicted_vs_true", "residuals", "importance"];

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

/**
 * A set of charts in one panel, redrawn when the specs change. Each chart is
 * drawn in a task of its own, one after the other (tasks.ts says why).
 */
export class ChartGrid {
  readonly el: HTMLElement;
  private results: Promise<Result | null>[] = [];
  private named = new Map<string, Promise<Result | null>>();
  private specs: Record<string, Spec> | null = null;
  private generation = 0; // a chart still waiting its turn is dropped once the panel changes

  constructor() {
    this.el = document.createElement("div");
    this.el.className = "rw-charts";
  }

  show(specs: Record<string, Spec>, empty = "Charts appear when the iteration has finished."): void {
    if (this.specs !== null && sameSpecs(specs, this.specs)) return;
    this.specs = specs;
    this.clear();
    const generation = this.generation;
    let previous: Promise<unknown> = Promise.resolve();
    for (const [name, spec] of orderedCharts(specs)) {
      const box = document.createElement("div");
      box.className = `rw-chart rw-chart-${name.replace(/[^a-z_]/g, "")}`;
      this.el.appendChild(box);
      const drawn = previous.then(async () => {
        await nextTask();
        if (generation !== this.generation) return null;
        return drawSpec(box, spec).catch((e: unknown) => {
          box.textContent = `Chart failed: ${String(e)}`;
          return null;
        });
      });
      previous = drawn;
      this.results.push(drawn);
      this.named.set(name, drawn);
    }
    if (Object.keys(specs).length === 0) {
      const p = document.createElement("p");
      p.className = "rw-empty";
      p.textContent = empty;
      this.el.appendChild(p);
    }
  }

  /** The chart `name` once drawn (null: none, or it failed), e.g. to change its named data. */
  chart(name: string): Promise<Result | null> | undefined {
    return this.named.get(name);
  }

  clear(): void {
    this.generation += 1;
    for (const r of this.results) void r.then((x) => x?.finalize());
    this.results = [];
    this.named.clear();
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

/** Every layer (or the unit itself) of a Vega-Lite spec, in order. */
function units(spec: Spec): Record<string, unknown>[] {
  const layers = spec["layer"];
  return Array.isArray(layers) ? (layers as Record<string, unknown>[]) : [spec];
}

/**
 * A copy of the loss chart's spec with a logarithmic loss axis: each layer's y
 * scale made "log", its values at or below 0 filtered out (a log axis has no
 * place for them; Vega-Lite would stretch the axis to -infinity), before any
 * other transform. As `loss_chart(log_scale=True)` builds it in Python.
 */
export function withLogScale(spec: Spec): Spec {
  const copy = JSON.parse(JSON.stringify(spec)) as Spec;
  for (const unit of units(copy)) {
    const y = (unit["encoding"] as Record<string, Record<string, unknown>> | undefined)?.["y"];
    const field = y?.["field"];
    if (y === undefined || typeof field !== "string") continue;
    y["scale"] = { type: "log" };
    // First: the lone-point dot counts a split's points, and must count only the drawable.
    const filter = { filter: `datum.${field} > 0` };
    unit["transform"] = [filter, ...((unit["transform"] as unknown[] | undefined) ?? [])];
  }
  return copy;
}

/** The `smoothing` parameter's value in the spec (0 when it has none). */
export function specSmoothing(spec: Spec | null): number {
  const params = (spec?.["params"] as { name?: string; value?: unknown }[] | undefined) ?? [];
  const p = params.find((q) => q.name === "smoothing");
  return typeof p?.value === "number" ? p.value : 0;
}

/** A copy of `spec` whose `smoothing` parameter starts at `w`. */
export function withSmoothing(spec: Spec, w: number): Spec {
  const copy = { ...spec };
  const params = (spec["params"] as { name?: string }[] | undefined) ?? [];
  copy["params"] = params.map((p) => (p.name === "smoothing" ? { ...p, value: w } : p));
  return copy;
}

/** A loss point as the chart's data holds it: with each split's smoothed value. */
export interface LossRow extends LossPoint {
  smoothed: number | null;
}

/**
 * Each split's running smoothing, so an appended point costs O(1). A point
 * that comes before its split's last step (out of order) asks for a full
 * recomputation, in step order.
 */
export class LossSmoother {
  private state = new Map<string, { ema: Ema; step: number }>();

  constructor(readonly weight: number) {}

  /** Rows of `points` smoothed from scratch, in the input order. */
  all(points: readonly LossPoint[]): LossRow[] {
    this.state.clear();
    const order = points.map((_, i) => i).sort((a, b) => points[a]!.step - points[b]!.step || a - b);
    const out: LossRow[] = new Array<LossRow>(points.length);
    for (const i of order) out[i] = this.row(points[i]!);
    return out;
  }

  /** Rows of appended `points`, or null when one is out of order (then call `all`). */
  append(points: readonly LossPoint[]): LossRow[] | null {
    for (const p of points) {
      const s = this.state.get(p.split);
      if (s !== undefined && p.step < s.step) return null;
    }
    return points.map((p) => this.row(p));
  }

  private row(p: LossPoint): LossRow {
    let s = this.state.get(p.split);
    if (s === undefined) {
      s = { ema: new Ema(this.weight), step: p.step };
      this.state.set(p.split, s);
    }
    s.step = p.step;
    return { ...p, smoothed: s.ema.next(p.value) };
  }
}

/** The loss chart of the selected iteration, appended to without resending history. */
export class LossChart {
  readonly el: HTMLElement;
  private readonly plot: HTMLElement;
  private readonly logBox: HTMLInputElement;
  private readonly slider: HTMLInputElement;
  private readonly sliderText: HTMLElement;
  private result: Promise<Result | null> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private points: LossPoint[] = [];
  private smoother: LossSmoother;
  private drawnFor: string | null = null;
  private pendingFull: LossRow[] | null = null;
  private pendingRows: LossRow[] = [];
  private flushQueued = false;
  private readonly memory: ViewMemory;

  constructor(
    private spec: Spec | null,
    memory: ViewMemory = {},
  ) {
    this.memory = memory;
    this.el = document.createElement("div");
    this.el.className = "rw-chart rw-loss";
    const controls = document.createElement("div");
    controls.className = "rw-loss-controls";
    this.logBox = document.createElement("input");
    this.logBox.type = "checkbox";
    this.logBox.className = "rw-loss-log";
    this.logBox.checked = memory.lossLog ?? false;
    const logLabel = document.createElement("label");
    logLabel.append(this.logBox, " log scale");
    this.slider = document.createElement("input");
    this.slider.type = "range";
    this.slider.className = "rw-loss-smoothing";
    this.slider.min = "0";
    this.slider.max = String(MAX_SMOOTHING);
    this.slider.step = "0.01";
    const weight = clampSmoothing(memory.lossSmoothing ?? specSmoothing(spec));
    this.slider.value = String(weight);
    this.slider.title = "Exponential moving average, as TensorBoard smooths (0: raw values)";
    this.sliderText = document.createElement("span");
    this.sliderText.className = "rw-loss-smoothing-value";
    this.sliderText.textContent = weight.toFixed(2);
    const smoothLabel = document.createElement("label");
    smoothLabel.append("smoothing ", this.slider, " ", this.sliderText);
    controls.append(logLabel, smoothLabel);
    this.plot = document.createElement("div");
    this.el.append(this.plot, controls);
    this.smoother = new LossSmoother(weight);
    this.logBox.addEventListener("change", () => {
      this.memory.lossLog = this.logBox.checked;
      this.drawnFor = null; // Vega cannot swap a scale's type: draw anew
      this.redrawIfNeeded();
    });
    this.slider.addEventListener("input", () => this.setSmoothing(Number(this.slider.value)));
  }

  /** The smoothing weight shown (and kept in the widget's view memory). */
  get smoothing(): number {
    return this.smoother.weight;
  }

  /** Smooth at `w` from now on: the data's smoothed values are recomputed, the spec kept. */
  setSmoothing(w: number): void {
    const weight = clampSmoothing(w);
    this.memory.lossSmoothing = weight;
    this.sliderText.textContent = weight.toFixed(2);
    if (weight === this.smoother.weight) return;
    this.smoother = new LossSmoother(weight);
    this.pendingFull = this.smoother.all(this.points);
    this.pendingRows = [];
    this.flush();
  }

  /** Draw afresh when the splits with points or the axis type changed. */
  private redrawIfNeeded(): boolean {
    const splits = presentSplits(this.points);
    this.el.hidden = splits.length === 0; // no empty "Loss" frame for runs that log none
    const log = this.logBox.checked;
    const key = `${log ? "log" : "linear"}\n${splits.join("\n")}`;
    if (key === this.drawnFor || this.spec === null) return false;
    this.drawnFor = key;
    const legend = withLegendSplits(this.spec, splits);
    const old = this.result;
    this.result = this.queue.then(async () => {
      void old?.then((r) => r?.finalize());
      // Everything up to now, at the weight of now; what comes later is flushed after.
      const spec = withSmoothing(log ? withLogScale(legend) : legend, this.smoother.weight);
      const rows = this.smoother.all(this.points);
      this.pendingFull = null;
      this.pendingRows = [];
      const r = await drawSpec(this.plot, spec).catch(() => null);
      if (r !== null) {
        r.view.change("loss", changeset().insert(rows));
        await r.view.resize().runAsync();
      }
      return r;
    });
    this.queue = this.result;
    return true;
  }

  /**
   * Send what changed since the last run, in one changeset: every row anew (a new
   * weight, new points, a point out of order), or the appended rows alone. Changes
   * made while a run is going are merged into the next one, so a dragged slider or
   * a burst of points costs one run, not one per event.
   */
  private flush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    const result = this.result;
    this.queue = this.queue.then(async () => {
      this.flushQueued = false;
      const full = this.pendingFull;
      const rows = this.pendingRows;
      this.pendingFull = null;
      this.pendingRows = [];
      const r = await result;
      if (r === null || r === undefined || (full === null && rows.length === 0)) return;
      if (full !== null) {
        r.view.signal("smoothing", this.smoother.weight);
        r.view.change("loss", changeset().remove(() => true).insert(full));
      } else {
        r.view.change("loss", changeset().insert(rows));
      }
      // resize(): recompute the autosize padding, else axis labels that grow with
      // the new data are clipped; runAsync: one run at a time (vega/vega#2513).
      await r.view.resize().runAsync();
    });
  }

  /** Replace the points (a new iteration was selected, or a snapshot arrived). */
  replace(points: readonly LossPoint[]): void {
    this.points = points.map((p) => ({ ...p }));
    if (this.redrawIfNeeded()) return;
    this.pendingFull = this.smoother.all(this.points);
    this.pendingRows = [];
    this.flush();
  }

  /** Append new points: only they go to the chart, smoothed from each split's running state. */
  append(points: readonly LossPoint[]): void {
    const added = points.map((p) => ({ ...p }));
    this.points.push(...added);
    if (this.redrawIfNeeded()) return;
    const rows = this.smoother.append(added);
    if (rows === null) {
      this.pendingFull = this.smoother.all(this.points);
      this.pendingRows = [];
    } else if (this.pendingFull !== null) {
      this.pendingFull.push(...rows);
    } else {
      this.pendingRows.push(...rows);
    }
    this.flush();
  }

  finalize(): void {
    void this.result?.then((r) => r?.finalize());
  }
}
