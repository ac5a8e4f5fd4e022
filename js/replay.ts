// The replay: a slider over the steps of the shown iteration's split (it.update(...,
// step=epoch)), under the confusion matrix. Moving it shows the matrix and the
// metrics as they were after that step; "Δ vs best" colours each cell by its change
// against the best iteration's final matrix (row-normalised, labels by name), with
// compare's difference matrix. The snapshots arrive once each, as "step" deltas
// (src/runwatch/widget/_replay.py); the pure parts mirror runwatch.views.replay.
import { differenceMatrix } from "./compare";
import type { Confusion, Snapshot, StepDelta, StepSnapshot } from "./model";

/** Put a step snapshot at its position (the twin of `_batches.apply_step`): no holes. */
export function applyStep(state: Snapshot, d: StepDelta): void {
  const splits = ((state.steps ??= {})[d.iteration] ??= {});
  const snaps = (splits[d.split] ??= []);
  if (d.pos < snaps.length) snaps[d.pos] = d.snapshot;
  else if (d.pos === snaps.length) snaps.push(d.snapshot);
}

/** The shown iteration's snapshots of `split`, in step order (none: []). */
export function stepsOf(state: Snapshot, id: string | null, split: string | null): StepSnapshot[] {
  if (id === null || split === null) return [];
  return state.steps?.[id]?.[split] ?? [];
}

/** The slider's position for `replayStep` (null, or a step not there: the last). */
export function stepPosition(steps: readonly StepSnapshot[], replayStep: number | null): number {
  if (replayStep !== null) {
    const at = steps.findIndex((s) => s.step === replayStep);
    if (at >= 0) return at;
  }
  return steps.length - 1;
}

/** What a slider position writes to `replay_step`: the last position is null (it follows new steps). */
export function stepAt(steps: readonly StepSnapshot[], pos: number): number | null {
  if (pos >= steps.length - 1) return null;
  return steps[pos]?.step ?? null;
}

/** What the matrix and metrics panels show at a position. */
export interface ReplayView {
  pos: number;
  /** The latest position: the detail's own matrix and metrics (threshold included) are shown. */
  latest: boolean;
  snapshot: StepSnapshot | null;
}

export function replayView(steps: readonly StepSnapshot[], replayStep: number | null): ReplayView {
  const pos = stepPosition(steps, replayStep);
  return { pos, latest: replayStep === null || pos === steps.length - 1, snapshot: steps[pos] ?? null };
}

/** "Δ vs best": the difference matrix of `shown` (at the step) against the best's final one. */
export function deltaVsBest(shown: Confusion, best: Confusion, stepLabel: string, bestLabel: string): HTMLElement {
  return differenceMatrix(shown, best, [stepLabel, bestLabel]);
}

export const REPLAY_CSS = `
.rw-replay { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin: 6px 0 2px; font-size: 12px; }
.rw-replay input[type=range] { width: 180px; }
.rw-replay .rw-replay-value { font-variant-numeric: tabular-nums; min-width: 9em; }
`;

export interface ReplayOptions {
  /** A slider move: the step shown (null: the latest, following new steps). */
  onStep: (step: number | null) => void;
  /** "Δ vs best" switched on or off. */
  onDelta: (on: boolean) => void;
}

/** The control: the step slider, its value, and the "Δ vs best" switch. Its elements persist (a drag goes on). */
export class ReplayPanel {
  readonly el: HTMLElement;
  private slider: HTMLInputElement;
  private value: HTMLElement;
  private delta: HTMLInputElement;
  private deltaLabel: HTMLLabelElement;
  private steps: readonly StepSnapshot[] = [];

  constructor(private options: ReplayOptions) {
    this.el = document.createElement("div");
    this.el.className = "rw-replay";
    const title = document.createElement("span");
    title.textContent = "Step";
    this.slider = document.createElement("input");
    this.slider.type = "range";
    this.slider.min = "0";
    this.slider.step = "1";
    this.slider.className = "rw-replay-slider";
    this.slider.setAttribute("aria-label", "replay step");
    this.value = document.createElement("span");
    this.value.className = "rw-replay-value";
    this.deltaLabel = document.createElement("label");
    this.deltaLabel.className = "rw-replay-delta";
    this.delta = document.createElement("input");
    this.delta.type = "checkbox";
    this.deltaLabel.append(this.delta, document.createTextNode(" \u0394 vs best"));
    this.el.append(title, this.slider, this.value, this.deltaLabel);
    this.slider.addEventListener("input", () => this.options.onStep(stepAt(this.steps, Number(this.slider.value))));
    this.delta.addEventListener("change", () => this.options.onDelta(this.delta.checked));
  }

  /** Show `steps` at `view`; `best` names the best iteration ("" when there is none to compare with). */
  show(steps: readonly StepSnapshot[], view: ReplayView, delta: boolean, best: string): void {
    this.steps = steps;
    this.slider.max = String(Math.max(0, steps.length - 1));
    // Not while the user drags it: the value they hold is the one shown.
    if (Number(this.slider.value) !== view.pos) this.slider.value = String(view.pos);
    const step = view.snapshot?.step;
    const latest = view.latest ? " (latest)" : "";
    this.value.textContent = `${step === undefined ? "" : String(step)} \u00b7 ${view.pos + 1} of ${steps.length}${latest}`;
    this.delta.disabled = best === "";
    this.delta.checked = delta && best !== "";
    this.deltaLabel.title = best === "" ? "No best iteration with this split's matrix yet" : `Each cell's change against the best iteration (${best}), row-normalised`;
  }
}
