// The chart above the iterations table: a metric per iteration and the stepped
// best-so-far line, drawn from the kernel's spec (runwatch.views.iterations) on
// its named data set "iterations". The rows are built here from the state the
// page already has (pure, tested in node) and swapped in with a Vega changeset
// when an iteration arrives, the selection moves or another metric is picked.
import { changeset } from "vega";
import type { Result } from "vega-embed";
import { drawSpec } from "./charts";
import type { ViewMemory } from "./memory";
import type { Snapshot, Spec } from "./model";

/** One point of the chart: the fields of runwatch.views.iterations.iterations_rows. */
export interface ChartRow {
  index: number;
  id: string;
  name: string;
  value: number | null;
  best: number | null;
  is_best: boolean;
  selected: boolean;
}

/** The split a metric other than the primary one is read from: as the tracking layer picks the primary's. */
const PRIMARY_SPLITS = ["validation", "test", "train"];

/**
 * The metrics the picker offers: the primary metric first, then every metric
 * some iteration's details have, by name.
 */
export function chartableMetrics(state: Snapshot): string[] {
  const primary = state.run.primary_metric;
  const names = new Set<string>();
  for (const d of Object.values(state.details)) {
    for (const s of Object.values(d.splits)) for (const [m, v] of Object.entries(s.metrics)) if (v !== null) names.add(m);
  }
  names.delete(primary);
  return [primary, ...[...names].sort()];
}

/** An iteration's value of `metric`: the row's primary metric, else its details' (validation, else test, else train). */
export function metricValue(state: Snapshot, id: string, metric: string): number | null {
  if (metric === state.run.primary_metric) {
    return state.iterations.find((r) => r.id === id)?.metric ?? null;
  }
  const d = state.details[id];
  if (d === undefined) return null;
  for (const s of PRIMARY_SPLITS) {
    const v = d.splits[s]?.metrics[metric];
    if (v !== undefined) return v === null || !Number.isFinite(v) ? null : v;
  }
  return null;
}

/**
 * The chart's rows for `metric`, in run order: each value and the best so far
 * by the metric's goal (`state.goals`, default maximise; the run's goal for the
 * primary metric). `is_best` marks the first iteration holding the best value.
 */
export function chartRows(state: Snapshot, metric: string, selected: string | null): ChartRow[] {
  const goal = metric === state.run.primary_metric ? state.run.goal : ((state.goals ?? {})[metric] ?? "maximize");
  const sign = goal === "minimize" ? -1 : 1;
  let best: number | null = null;
  let bestAt = -1;
  const rows = [...state.iterations].sort((a, b) => a.index - b.index);
  const out = rows.map((r, i): ChartRow => {
    const value = metricValue(state, r.id, metric);
    if (value !== null && (best === null || sign * value > sign * best)) {
      best = value;
      bestAt = i;
    }
    return { index: r.index, id: r.id, name: r.name, value, best, is_best: false, selected: r.id === selected };
  });
  const top = out[bestAt];
  if (top !== undefined) top.is_best = true;
  return out;
}

/** A copy of `spec` whose y axes are titled `title` (the spec's layers share the y scale). */
export function retitled(spec: Spec, title: string): Spec {
  const copy = JSON.parse(JSON.stringify(spec)) as Spec;
  const layers = (copy["layer"] as Record<string, unknown>[] | undefined) ?? [copy];
  for (const layer of layers) {
    const enc = layer["encoding"] as Record<string, Record<string, unknown>> | undefined;
    if (enc?.["y"] !== undefined) enc["y"]["title"] = title;
  }
  return copy;
}

export interface IterationsChartOptions {
  onSelect: (id: string) => void;
  /** Where the charted metric is kept for the widget's next view. */
  memory?: ViewMemory;
}

/** The chart and its metric picker; `update` redraws from the state (spec drawn once per metric). */
export class IterationsChart {
  readonly el: HTMLElement;
  metric: string | null = null;
  private picker: HTMLSelectElement;
  private box: HTMLElement;
  private result: Promise<Result | null> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private drawnFor: string | null = null;
  private drawnRows: string | null = null;
  private last: { state: Snapshot; selected: string | null } | null = null;

  constructor(
    private spec: Spec | null,
    private options: IterationsChartOptions,
  ) {
    this.el = document.createElement("div");
    this.el.className = "rw-iterchart";
    const label = document.createElement("label");
    label.className = "rw-metric-picker";
    label.textContent = "Chart ";
    this.picker = document.createElement("select");
    this.picker.addEventListener("change", () => {
      this.metric = this.picker.value;
      if (this.options.memory) this.options.memory.metric = this.metric;
      if (this.last !== null) this.update(this.last.state, this.last.selected);
    });
    label.appendChild(this.picker);
    this.box = document.createElement("div");
    this.box.className = "rw-chart rw-chart-iterations";
    this.el.append(label, this.box);
  }

  update(state: Snapshot, selected: string | null): void {
    this.last = { state, selected };
    if (this.spec === null) return;
    const metrics = chartableMetrics(state);
    const remembered = this.options.memory?.metric;
    if (this.metric === null && remembered !== undefined && metrics.includes(remembered)) this.metric = remembered;
    if (this.metric === null || !metrics.includes(this.metric)) this.metric = metrics[0] ?? null;
    const options = [...this.picker.options].map((o) => o.value);
    if (options.join("\n") !== metrics.join("\n")) {
      this.picker.replaceChildren(
        ...metrics.map((m) => {
          const o = document.createElement("option");
          o.value = m;
          o.textContent = m;
          return o;
        }),
      );
    }
    if (this.metric === null) return;
    this.picker.value = this.metric;
    const metric = this.metric;
    if (this.drawnFor !== metric) {
      this.drawnFor = metric;
      this.drawnRows = null;
      const old = this.result;
      const spec = retitled(this.spec, metric);
      this.result = (async () => {
        await this.queue;
        void old?.then((r) => r?.finalize());
        const r = await drawSpec(this.box, spec).catch(() => null);
        r?.view.addEventListener("click", (_event, item) => {
          const datum = (item as { datum?: { id?: unknown } } | null | undefined)?.datum;
          if (datum !== undefined && typeof datum.id === "string") this.options.onSelect(datum.id);
        });
        return r;
      })();
    }
    const rows = chartRows(state, metric, selected);
    // No empty frame: without a value of the metric (a run that logs losses only,
    // or none yet) the chart hides, and the picker too when it offers nothing else.
    const empty = rows.every((r) => r.value === null);
    this.box.hidden = empty;
    this.el.hidden = empty && metrics.length <= 1;
    // Batches that only bring details (1,000 of them for a large run) leave the
    // chart as it is: re-inserting every point each time kept the page busy.
    const key = JSON.stringify(rows);
    if (key === this.drawnRows) return;
    this.drawnRows = key;
    const result = this.result;
    this.queue = this.queue.then(async () => {
      const r = await result;
      if (r === null || r === undefined) return;
      r.view.change("iterations", changeset().remove(() => true).insert(rows));
      await r.view.resize().runAsync();
    });
  }

  finalize(): void {
    void this.result?.then((r) => r?.finalize());
  }
}
