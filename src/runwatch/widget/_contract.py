r"""The Python side of the widget's contract with its front end.

Every trait the page syncs and every message the kernel sends is named here,
as plain-data ``TypedDict``\\ s; ``js/model.ts`` mirrors them (a test compares
``interface Model`` with the widget's ``sync=True`` traits). Values are JSON:
ids and labels are strings, NaN and infinities are ``None``.

Messages: the kernel sends :class:`Batch` es (``{"seq", "deltas"}``) as
anywidget custom messages, numbered from 1 without gaps. ``_snapshot`` holds
the whole state as of its ``seq``: a view applies batches with
``seq == last + 1`` and, after a gap, waits for the next snapshot, which it
asks for with a :class:`SnapshotRequest`. It travels as JSON text
(:func:`snapshot_to_json`).
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypedDict

#: The traits the front end reads or writes (``js/model.ts``: ``interface Model``).
MODEL_TRAITS: tuple[str, ...] = (
    "selected",
    "split",
    "selected_cell",
    "threshold",
    "_threshold_exact",
    "compared",
    "replay_step",
    "_auto_selected",
    "_snapshot",
    "_uid",
    "_bundle",
    "_gallery",
    "_gallery_request",
)

#: The result sets, in the order the split selector shows them.
SPLITS: tuple[str, ...] = ("train", "validation", "test")


class RunInfo(TypedDict):
    """The run as the header shows it."""

    name: str
    task: str
    primary_metric: str
    goal: str
    status: str
    best: str | None  # id of the best iteration
    auto: str | None  # what `selected` shows while the user picked nothing
    started: float | None  # epoch seconds: the first iteration's start
    ended: float | None  # epoch seconds: the last end, once nothing runs or waits


class IterationRow(TypedDict):
    """One row of the iterations table."""

    id: str
    index: int  # 1-based position in the run
    name: str
    status: str
    started: float | None  # epoch seconds
    duration: float | None  # seconds
    metric: float | None  # the primary metric
    best: float | None  # best primary metric so far
    is_best: bool


class PerClassRow(TypedDict):
    """One class of the per-class table: its label, and a number per column.

    Keyed by column name, a number (or None) for each column of
    ``SplitDetail.per_class_columns``.
    """

    label: str


class Confusion(TypedDict):
    """A confusion matrix of ``labels``, true in rows, predicted in columns: dense or sparse.

    ``counts[i][j]`` samples of ``labels[i]`` predicted ``labels[j]``; or,
    when shorter (many classes, few samples), ``cells``: ``[i, j, count]``
    of the non-zero cells only. The other one is None.
    """

    labels: list[str]
    counts: list[list[float]] | None
    cells: list[list[float]] | None


class MetricGroup(TypedDict):
    """Metrics of one kind (``runwatch.views.tables.METRIC_GROUPS``), in display order."""

    group: str
    metrics: list[str]


class AttributeBuckets(TypedDict):
    """One attribute's buckets (``by_attribute``): each list has a value per bucket."""

    name: str
    kind: str  # "numeric" (ranges lo < value <= hi, in value order) or "categorical"
    buckets: list[str]
    lo: list[float | None]
    hi: list[float | None]
    count: list[int]
    metrics: dict[str, list[float | None]]  # recall_macro, precision_macro, f1_macro, ...
    recall: list[list[float | None]]  # per class of FailureDetail.labels, per bucket
    with_error: float | None  # importance: correlation with being wrong
    with_loss: float | None  # and with the log loss (None without scores)


class TopLoss(TypedDict):
    """One of the samples of highest log loss."""

    id: int | str
    true: str
    predicted: str
    loss: float | None


class FailureDetail(TypedDict):
    """Where the model fails, for one split: by attribute, importance, top losses."""

    labels: list[str]  # the classes of AttributeBuckets.recall
    attributes: list[AttributeBuckets]  # in the importance chart's order, strongest first
    chart: dict[str, Any] | None  # the by-attribute chart's spec; the page fills its data
    importance: dict[str, Any] | None  # the attribute importance chart
    top_losses: list[TopLoss]
    # Vision runs: the top-losses table's headings for true, predicted and loss (images).
    top_columns: list[str] | None


class Gallery(TypedDict):
    """The ``_gallery`` trait: the clicked cell's sample ids and the thumbnails the page asked for.

    For ``iteration`` and ``split`` as the kernel shows them; ``images`` are
    PNG bytes keyed by the id as text, ``errors`` one sentence per id whose
    thumbnail could not be made. ``enabled``: a thumbnail function was given.
    """

    enabled: bool
    iteration: str | None
    split: str | None
    cell: list[str] | None
    ids: list[int | str]
    images: dict[str, bytes]
    errors: dict[str, str]


class SplitDetail(TypedDict):
    """What the detail panels show for one split of one iteration."""

    metrics: dict[str, float | None]
    groups: list[MetricGroup]  # the metrics' names by kind, primary metric's group first
    reasons: dict[str, str]  # why an undefined (None) metric is undefined
    per_class: list[PerClassRow]
    # [column, heading] of the per-class table, in display order (precision,
    # recall, F1 and support for classification; AP, AP50, ... for detection)
    per_class_columns: list[list[str]]
    confusion: Confusion | None
    # plain data of the charts the static summary draws as SVG (detection: "pr",
    # "matched_iou"; widget._vision_charts.detection_charts); {} for other tasks
    plots: dict[str, Any]
    charts: dict[str, dict[str, Any]]  # chart name -> Vega-Lite spec
    # The score-threshold slider's table (runwatch.views.thresholds), once final; else None.
    thresholds: dict[str, Any] | None
    failures: FailureDetail | None  # finished classification iterations with ids or scores


class Detail(TypedDict):
    """An iteration's details; ``final`` once the iteration has ended."""

    iteration: str
    final: bool
    params: list[list[str]]  # [name, value as text], in the order logged
    splits: dict[str, SplitDetail]
    importance: dict[str, Any] | None  # feature-importance chart when logged


class LossPoint(TypedDict):
    """One logged loss value."""

    split: str
    step: float
    value: float


class StepSnapshot(TypedDict):
    """A split at the end of one step (the replay): its matrix and metrics."""

    step: float  # int or float, as logged
    confusion: Confusion | None  # None for tasks without a matrix (regression)
    metrics: dict[str, float | None]


class Snapshot(TypedDict):
    """Everything a freshly opened view needs, as of batch ``seq``."""

    seq: int
    run: RunInfo
    iterations: list[IterationRow]
    details: dict[str, Detail]  # iteration id -> details
    losses: dict[str, list[LossPoint]]  # iteration id -> its losses
    loss_chart: dict[str, Any] | None  # Vega-Lite spec with named data "loss"
    iterations_chart: dict[str, Any] | None  # Vega-Lite spec with named data "iterations"
    goals: dict[str, str]  # metric name -> "maximize" / "minimize", for best-so-far
    # iteration id -> split -> its snapshot per step, in step order (widget._replay)
    steps: dict[str, dict[str, list[StepSnapshot]]]


class RunDelta(TypedDict):
    """The run's header changed."""

    kind: Literal["run"]
    run: RunInfo


class IterationDelta(TypedDict):
    """An iteration row is new or changed."""

    kind: Literal["iteration"]
    row: IterationRow


class DetailDelta(TypedDict):
    """An iteration's details are new or changed (replace them)."""

    kind: Literal["detail"]
    detail: Detail


class LossDelta(TypedDict):
    """New loss points of one iteration (append them)."""

    kind: Literal["loss"]
    iteration: str
    points: list[LossPoint]


class StepDelta(TypedDict):
    """A per-step snapshot is new (``pos`` = the split's count) or rewritten (replace it)."""

    kind: Literal["step"]
    iteration: str
    split: str
    pos: int
    snapshot: StepSnapshot


Delta = RunDelta | IterationDelta | DetailDelta | LossDelta | StepDelta


class Batch(TypedDict):
    """One custom message: the deltas since batch ``seq - 1``."""

    seq: int
    deltas: list[Delta]


class SnapshotRequest(TypedDict):
    """The one message a view sends: it saw a gap and needs ``_snapshot`` brought up to date."""

    kind: Literal["snapshot"]


def empty_snapshot(run: RunInfo) -> Snapshot:
    """A snapshot of a run with nothing logged yet."""
    return {
        "seq": 0,
        "run": run,
        "iterations": [],
        "details": {},
        "losses": {},
        "loss_chart": None,
        "iterations_chart": None,
        "goals": {},
        "steps": {},
    }


def snapshot_to_json(value: Any, widget: Any = None) -> str:
    """The ``_snapshot`` trait on the wire: JSON text, not a JSON object.

    ipywidgets walks every list and dict of an object-valued trait looking for
    binary buffers (33 ms for a snapshot of 1,000 rows, on the first render's
    path); a string it sends as it is. The page parses it once
    (``js/live.ts``), which it had to do to copy the object anyway.
    """
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def snapshot_from_json(value: Any, widget: Any = None) -> Any:
    """The inverse of :func:`snapshot_to_json` (the page never sets it; for completeness)."""
    return json.loads(value) if isinstance(value, str) else value
