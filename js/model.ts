// The contract with the kernel: the only place JS names traits and messages.
// Mirrors src/runwatch/widget/_contract.py (a Python test compares `interface Model`
// with the widget's sync=True traits).

/** The run as the header shows it. */
export interface RunInfo {
  name: string;
  task: string;
  primary_metric: string;
  goal: string;
  status: string;
  best: string | null;
  auto: string | null;
  /** Epoch seconds: the first iteration's start. */
  started: number | null;
  /** Epoch seconds: the last iteration's end, once none runs or waits. */
  ended: number | null;
}

/** One row of the iterations table. */
export interface IterationRow {
  id: string;
  index: number;
  name: string;
  status: string;
  /** Epoch seconds. */
  started: number | null;
  duration: number | null;
  metric: number | null;
  best: number | null;
  is_best: boolean;
}

/** One class of the per-class table: its label, and a number per column of `per_class_columns`. */
export interface PerClassRow {
  label: string;
  [column: string]: string | number | null;
}

/** counts[i][j]: samples of class labels[i] predicted labels[j]. */
/**
 * A confusion matrix of `labels` (true rows, predicted columns): `counts[i][j]`,
 * or, when shorter, `cells` ([i, j, count] of the non-zero cells); the other is null.
 */
export interface Confusion {
  labels: string[];
  counts: number[][] | null;
  cells: [number, number, number][] | null;
}

/** A Vega-Lite spec, as Altair's to_dict() gives it. */
export type Spec = Record<string, unknown>;

/** Metrics of one kind, in display order. */
export interface MetricGroup {
  group: string;
  metrics: string[];
}

/** One attribute's buckets (the engine's `by_attribute`): each list has a value per bucket. */
export interface AttributeBuckets {
  name: string;
  /** "numeric" (ranges lo < value <= hi, in value order) or "categorical". */
  kind: string;
  buckets: string[];
  lo: (number | null)[];
  hi: (number | null)[];
  count: number[];
  /** recall_macro, precision_macro, f1_macro, accuracy, log_loss: a value per bucket. */
  metrics: Record<string, (number | null)[]>;
  /** Per class of FailureDetail.labels, per bucket. */
  recall: (number | null)[][];
  /** Importance: the correlation with being wrong, and with the log loss (null without scores). */
  with_error: number | null;
  with_loss: number | null;
}

/** One of the samples of highest log loss. */
export interface TopLoss {
  id: number | string;
  true: string;
  predicted: string;
  loss: number | null;
}

/** Where the model fails, for one split: by attribute, importance, top losses. */
export interface FailureDetail {
  labels: string[];
  attributes: AttributeBuckets[];
  /** The by-attribute chart's spec; the page fills its named data "by_attribute". */
  chart: Spec | null;
  importance: Spec | null;
  top_losses: TopLoss[];
  /** Vision runs: the top-losses table's headings for true, predicted and loss (its rows are images). */
  top_columns?: string[] | null;
}

/** A thumbnail as it arrives: binary (a DataView from ipywidgets' buffers) or a data: URL. */
export type Image = DataView | ArrayBuffer | Uint8Array | string;

/** The `_gallery` trait: the clicked cell's ids and the thumbnails, as the kernel shows them. */
export interface Gallery {
  enabled: boolean;
  iteration: string | null;
  split: string | null;
  cell: [string, string] | null;
  ids: (number | string)[];
  images: Record<string, Image>;
  errors: Record<string, string>;
}

/** The `_gallery_request` trait: the iteration, split and cell whose thumbnails the page shows. */
export interface GalleryRequest {
  iteration: string;
  split: string;
  cell: [string, string] | null;
}

export interface SplitDetail {
  metrics: Record<string, number | null>;
  groups: MetricGroup[];
  reasons: Record<string, string>;
  per_class: PerClassRow[];
  /** [column, heading] of the per-class table, in display order; absent in payloads saved before it. */
  per_class_columns?: [string, string][];
  confusion: Confusion | null;
  /** Plain data of the charts the static summary draws (detection); the page draws `charts`. */
  plots?: Record<string, unknown>;
  charts: Record<string, Spec>;
  /** The score-threshold slider's table, once the iteration has ended (threshold.ts). */
  thresholds?: ThresholdTable | null;
  /** Finished classification iterations with sample ids or scores; absent in older payloads. */
  failures?: FailureDetail | null;
}

/** One class against the rest: weights scoring at or above each threshold (ascending). */
export interface ClassThresholds {
  label: string;
  positives: number;
  negatives: number;
  threshold: number[];
  tp: number[];
  fp: number[];
}

/** Classification: the positive class (binary) or every class (one against the rest). */
export interface ClassificationThresholds {
  kind: "classification";
  mode: string;
  binary: boolean;
  classes: ClassThresholds[];
}

/**
 * Per-class entries by column: `n` of class `class[j]` scoring from
 * threshold[at[j]] to the next (columns, not a list per entry: fewer
 * objects for the kernel's garbage collector).
 */
export interface ClassEntries {
  class: number[];
  at: number[];
  n: number[];
}

/** Confusion-matrix entries by column: `n` of (row, column) scoring from threshold[at] on. */
export interface CellEntries {
  row: number[];
  column: number[];
  at: number[];
  n: number[];
}

/** Detection: an ascending grid; `tp`, `fp`, `iou` (summed IoU) and `cells` as entries. */
export interface DetectionThresholds {
  kind: "detection";
  labels: string[];
  threshold: number[];
  support: number[];
  n_true: number[];
  tp: ClassEntries;
  fp: ClassEntries;
  /** The true positives' summed IoU. */
  iou: ClassEntries;
  cells: CellEntries;
}

export type ThresholdTable = ClassificationThresholds | DetectionThresholds;

/** The counts at `threshold` itself, from the engine ({} when there are none). */
export interface ThresholdExact {
  iteration?: string;
  split?: string;
  threshold?: number;
  /** Classification: per class against the rest. */
  classes?: { label: string; threshold: number; tp: number; fp: number; fn: number; tn: number }[];
  /** Detection: the matrix's non-zero cells and the per-class table's counts. */
  cells?: [number, number, number][];
  tp?: number[];
  fp?: number[];
  support?: number[];
  mean_iou?: (number | null)[];
}

export interface Detail {
  iteration: string;
  final: boolean;
  /** [name, value as text] of the iteration's parameters, in the order logged. */
  params: [string, string][];
  splits: Record<string, SplitDetail>;
  importance: Spec | null;
}

export interface LossPoint {
  split: string;
  step: number;
  value: number;
}

/** A split at the end of one step (the replay): its matrix and metrics. */
export interface StepSnapshot {
  step: number;
  /** null for tasks without a matrix (regression). */
  confusion: Confusion | null;
  metrics: Record<string, number | null>;
}

/** Everything a freshly opened view needs, as of batch `seq`. */
export interface Snapshot {
  seq: number;
  run: RunInfo;
  iterations: IterationRow[];
  details: Record<string, Detail>;
  losses: Record<string, LossPoint[]>;
  loss_chart: Spec | null;
  iterations_chart: Spec | null;
  goals: Record<string, string>;
  /** Iteration id -> split -> its snapshot per step, in step order; absent in pages saved before it. */
  steps?: Record<string, Record<string, StepSnapshot[]>>;
}

/** The widget's synced traits (RunDetails in src/runwatch/widget/__init__.py). */
export interface Model {
  selected: string | null;
  split: string;
  selected_cell: [string, string] | null;
  /** The score threshold; null: the arg-max rule (detection: the engine's score_threshold). */
  threshold: number | null;
  _threshold_exact: ThresholdExact;
  /** A second iteration shown beside `selected` (compare mode); null: none. */
  compared: string | null;
  /** The replay slider's step (a step of the shown split); null: the latest. Absent in a page saved before it. */
  replay_step?: number | null;
  _auto_selected: boolean;
  /** JSON text of a Snapshot from the kernel (a Snapshot where a page embeds one). */
  _snapshot: Snapshot | string;
  /** The widget's id: its views share what the user set (memory.ts). */
  _uid: string;
  /** "IPY_MODEL_<id>" of the kernel's FrontEnd model, whose `code` static/widget.js imports. */
  _bundle: string;
  /** The clicked cell's samples and the thumbnails (kernel -> page); absent in a saved page. */
  _gallery?: Gallery | Record<string, never>;
  /** Page -> kernel: make the thumbnails of this iteration and split. */
  _gallery_request?: GalleryRequest | null;
}

export type Delta =
  | { kind: "run"; run: RunInfo }
  | { kind: "iteration"; row: IterationRow }
  | { kind: "detail"; detail: Detail }
  | { kind: "loss"; iteration: string; points: LossPoint[] }
  | { kind: "step"; iteration: string; split: string; pos: number; snapshot: StepSnapshot };

/** A step snapshot is new (`pos` = the split's count) or rewritten. */
export type StepDelta = Extract<Delta, { kind: "step" }>;

/** One custom message from the kernel: the deltas since batch seq - 1. */
export interface Batch {
  seq: number;
  deltas: Delta[];
}

/** The one message a view sends the kernel: it saw a gap and needs a `_snapshot`. */
export interface SnapshotRequest {
  kind: "snapshot";
}

/** The result sets, in the order the split selector shows them. */
export const SPLITS = ["train", "validation", "test"] as const;

type Callback = (...args: unknown[]) => void;

/** The part of anywidget's model this front end uses, typed by `Model`. */
export interface WidgetModel {
  get<K extends keyof Model>(name: K): Model[K];
  set<K extends keyof Model>(name: K, value: Model[K]): void;
  save_changes(): void;
  send(content: SnapshotRequest): void;
  on(event: `change:${keyof Model}` | "msg:custom", callback: Callback): void;
  off(event: `change:${keyof Model}` | "msg:custom", callback: Callback): void;
}
