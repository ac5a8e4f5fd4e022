r"""Where the model fails, in the widget: the failure panels' payload and the sample gallery.

Two paths, for two kinds of data:

- **In the details payload** (:func:`failures_detail`): a finished
  iteration's by-attribute tables (every attribute, the bucket metrics and
  the recall of every class), its attribute importance chart and its top
  losses: small, so they live in the page and show while a cell runs a loop
  (the kernel cannot answer then).
- **On demand** (:class:`SampleGallery`, mixed into ``RunDetails``): the ids
  behind the clicked confusion-matrix cell (``selected_cell`` ->
  ``selected_samples``, in Python) and the thumbnails of those samples and
  of the top losses, made by the user's ``thumbnail(id)`` function in this
  kernel when the page asks (``_gallery_request`` -> ``_gallery``), only
  there: never on the widget's own thread. While a cell runs, the page
  keeps what it had and says it waits for the kernel.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import traitlets

from ._contract import SPLITS, AttributeBuckets, FailureDetail, Gallery, TopLoss
from ._payload import ENDED, label_text, number
from ._thumbnails import ThumbnailError, thumbnail_png
from ._vision_failures import (
    IMPORTANCE_TARGETS,
    TOP_COLUMNS,
    cell_names,
    is_vision,
    rows_known,
    top_loss_rows,
)

logger = logging.getLogger(__name__)

#: Top losses in the payload (and in the gallery).
TOP_LOSSES = 20
#: Ids listed for a clicked cell at the most (a uniform sample when it holds more).
CELL_SAMPLES = 50
#: Thumbnails kept in the kernel, most recently used first (about 3 KB each).
THUMBNAILS_KEPT = 512
#: Finished iterations' engines kept for the clicks (a split's engine is read once).
ENGINES_KEPT = 4
#: Significant digits of the payload's numbers (charts a few hundred pixels wide).
DIGITS = 4

_METRICS = ("recall_macro", "precision_macro", "f1_macro", "accuracy", "log_loss",
            "mAP", "mAP_50", "precision", "recall", "f1", "mean_iou", "pixel_accuracy")  # fmt: skip


def _round(value: Any) -> float | None:
    x = number(value)
    return None if x is None else (x if x == 0 else float(f"{x:.{DIGITS}g}"))


def _json_id(sample_id: Any) -> int | str:
    """A sample id as JSON carries it (the engine's ids are integers or strings)."""
    if hasattr(sample_id, "item"):
        sample_id = sample_id.item()
    return sample_id if isinstance(sample_id, int) and not isinstance(sample_id, bool) else str(
        sample_id)  # fmt: skip


def id_key(sample_id: Any) -> str:
    """The text an id is keyed by in ``_gallery.images`` (and in the page)."""
    return str(_json_id(sample_id))


# --------------------------------------------------------------------- payload


def failures_detail(engine: Any, bins: int = 10, max_categories: int = 20) -> FailureDetail | None:
    """The failure panels of one split: by-attribute tables, importance, top losses.

    None when the engine keeps none of it (regression, vision) or has nothing
    yet (no attributes, no scores). Bucket tables are the engine's
    ``by_attribute(name, bins, max_categories)``; the page draws them with
    the by-attribute chart's spec (``chart``, empty data) and the rows of
    :func:`runwatch.views.attributes.by_attribute_rows` it rebuilds.
    """
    if not hasattr(engine, "attribute_importance"):
        return None
    vision = is_vision(engine)
    if vision and not rows_known(engine):
        return None
    importance = engine.attribute_importance()
    top = engine.top_losses(TOP_LOSSES) if vision or getattr(engine, "n_scored", 0) else None
    if importance.empty and (top is None or top.empty):
        return None
    labels = [] if vision else list(engine.labels)  # vision buckets have no per-class recall
    tables: list[AttributeBuckets] = []
    frames = [
        engine.by_attribute(name, bins=bins, max_categories=max_categories)
        for name in importance["attribute"]
    ]
    columns = importance[["attribute", "kind", "with_error", "with_loss"]]
    for (name, kind, error, loss), t in zip(columns.itertuples(index=False), frames):
        tables.append({
            "name": label_text(name),
            "kind": str(kind),
            "buckets": [label_text(b) for b in t["bucket"]],
            "lo": [number(v) for v in t["lo"]],
            "hi": [number(v) for v in t["hi"]],
            "count": [int(v) for v in t["count"]],
            "metrics": {m: [_round(v) for v in t[m]] for m in _METRICS if m in t},
            "recall": [[_round(v) for v in t[f"recall[{c}]"]] for c in labels],
            "with_error": _round(error),
            "with_loss": _round(loss),
        })  # fmt: skip
    rows: list[TopLoss] = []
    if vision:
        rows = [{**r, "id": _json_id(r["id"])} for r in top_loss_rows(engine, TOP_LOSSES)]
    elif top is not None:
        for i, t_, p, x in zip(top["id"], top["true"], top["predicted"], top["loss"]):
            rows.append(
                {
                    "id": _json_id(i),
                    "true": label_text(t_),
                    "predicted": label_text(p),
                    "loss": _round(x),
                }  # fmt: skip
            )
    targets = IMPORTANCE_TARGETS[engine.kind] if vision else ("error", "log loss")
    chart, importance_chart = _specs(importance, frames[0] if frames else None, targets)
    return {
        "labels": [label_text(c) for c in labels],
        "attributes": tables,
        "chart": chart,
        "importance": importance_chart,
        "top_losses": rows,
        "top_columns": TOP_COLUMNS[engine.kind] if vision else None,
    }


def _specs(importance: Any, first: Any, targets: tuple[str, str]) -> tuple[Any, Any]:
    """The by-attribute chart's spec (its data left empty) and the importance chart."""
    if first is None:
        return None, None
    try:
        from runwatch.views import chart_spec
        from runwatch.views.attributes import attribute_importance_chart, by_attribute_chart
    except ImportError:  # the views layer is optional
        return None, None
    from ._payload import CHART_WIDTH
    from ._spec_data import csv_data, round_data

    chart = chart_spec(by_attribute_chart, first, width=CHART_WIDTH, bar_height=14)
    chart["data"]["values"] = []
    spec = chart_spec(attribute_importance_chart, importance, width=CHART_WIDTH, targets=targets)
    return chart, csv_data(round_data(spec))


# --------------------------------------------------------------------- gallery


def shown_split(iteration: Any, wanted: str, present: Any = None) -> str | None:
    """The split the page shows: ``wanted`` if present, else validation, test or train.

    ``present``: the splits of the iteration's details where the page has them
    (``js/detail.ts`` ``pickSplit`` picks from those); else those with an engine.
    """
    if present is None:
        present = [s for s in SPLITS if iteration.engine(s) is not None]
    if wanted in present:
        return wanted
    for s in ("validation", "test", "train"):
        if s in present:
            return s
    return None


def cell_labels(engine: Any, cell: Any) -> tuple[Any, Any] | None:
    """The engine's labels of a cell given as text (the page's), or None when not its classes."""
    if cell is None:
        return None
    by_text = {label_text(label): label for label in cell_names(engine)}
    if cell[0] not in by_text or cell[1] not in by_text:
        return None
    return by_text[cell[0]], by_text[cell[1]]


class Thumbnails:
    """The user's ``thumbnail(id)`` function, its PNGs kept (most recently used)."""

    def __init__(self, make: Callable[[Any], Any]) -> None:
        self.make = make
        self._kept: OrderedDict[str, tuple[bytes | None, str | None]] = OrderedDict()

    def kept(self, sample_id: Any) -> tuple[bytes | None, str | None]:
        """What :meth:`get` gave for this id before, or (None, None), without calling ``make``."""
        return self._kept.get(id_key(sample_id), (None, None))

    def get(self, sample_id: Any) -> tuple[bytes | None, str | None]:
        """(PNG, None), or (None, one sentence) when ``make`` failed or gave no image."""
        key = id_key(sample_id)
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        try:
            out: tuple[bytes | None, str | None] = (thumbnail_png(self.make(sample_id),
                                                                  sample_id), None)  # fmt: skip
        except ThumbnailError as exc:
            out = (None, str(exc))
        except Exception as exc:  # the user's function: one sentence in the panel, not a traceback
            out = (None, f"thumbnail({sample_id!r}) raised {type(exc).__name__}: {exc}")
        self._kept[key] = out
        while len(self._kept) > THUMBNAILS_KEPT:
            self._kept.popitem(last=False)
        return out


def check_thumbnail(thumbnail: Any) -> Thumbnails | None:
    """``RunDetails(thumbnail=...)``: a callable or None (``TypeError`` naming it otherwise)."""
    if thumbnail is None:
        return None
    if not callable(thumbnail):
        raise TypeError(
            "thumbnail must be a function from a sample id to an image (numpy array, PIL image "
            f"or PNG bytes), or None; got {type(thumbnail).__name__}."
        )
    return Thumbnails(thumbnail)


class SampleGallery(traitlets.HasTraits):
    """``RunDetails``' part that answers with the samples of a cell and their thumbnails.

    Expects ``run``, ``selected``, ``split``, ``selected_cell`` and
    ``_pusher`` on the widget; :meth:`_start_gallery` hooks it up.
    """

    selected_samples = traitlets.List(traitlets.Any(), default_value=[])
    # Page -> kernel: {"iteration", "split", "cell"} the page shows and wants thumbnails for.
    _gallery_request = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    # Kernel -> page: the cell's ids and the thumbnails (``_contract.Gallery``).
    _gallery = traitlets.Dict().tag(sync=True)

    def _start_gallery(self, thumbnails: Thumbnails | None) -> None:
        self._thumbnails = thumbnails
        self._gallery_lock = threading.Lock()
        self._engines: dict[tuple[Any, str], Any] = {}
        state = dict(self._gallery_state(images=False))
        del state["_ids"]  # type: ignore[misc]
        self._gallery = state
        self.observe(self._on_cell, names=["selected_cell", "selected", "split"])
        self.observe(self._on_gallery_request, names="_gallery_request")

    def _on_cell(self, change: dict[str, Any]) -> None:
        if change["name"] != "selected_cell" and self.selected_cell is None:
            return
        # Ids now (and the thumbnails made before); new thumbnails when the page asks
        # for the cell it shows: the user's function runs on a page's request only,
        # never on the widget's thread (which moves `selected` with the best).
        self._refresh(images=False)

    def _on_gallery_request(self, change: dict[str, Any]) -> None:
        if self._thumbnails is not None and change["new"]:
            self._refresh(images=True)

    def _refresh(self, images: bool) -> None:
        try:
            with self._gallery_lock:
                state = self._gallery_state(images)
                self.selected_samples = list(state.pop("_ids"))  # type: ignore[misc]
                self._gallery = dict(state)
        except Exception:  # a failed lookup must not break the widget's traits
            logger.exception("runwatch: listing the samples of a cell failed")

    def _engine(self, iteration: Any, split: str) -> Any:
        """The split's engine; a finished iteration's is read from the store once (kept)."""
        key = (iteration.id, split)
        kept = self._engines.get(key)
        if kept is not None:
            return kept
        engine = iteration.engine(split)
        if iteration.status in ENDED:  # it will not change: clicks need not read it again
            self._engines[key] = engine
            while len(self._engines) > ENGINES_KEPT:
                self._engines.pop(next(iter(self._engines)))
        return engine

    def _gallery_state(self, images: bool) -> Gallery:
        """What the page shows for the kernel's selection: the cell's ids, thumbnails."""
        state: Any = {
            "enabled": self._thumbnails is not None, "iteration": None, "split": None,
            "cell": None, "ids": [], "images": {}, "errors": {}, "_ids": [],
        }  # fmt: skip
        state_now = self._pusher.state  # read only: entries are replaced, never changed
        iid = self.selected if self.selected is not None else state_now["run"]["auto"]
        iteration = None if iid is None else self.run.get(int(iid))
        detail = None if iid is None else state_now["details"].get(str(iid))
        present = None if detail is None else list(detail["splits"])
        split = None if iteration is None else shown_split(iteration, self.split, present)
        if split is None:
            return state
        engine = self._engine(iteration, split)
        state.update(iteration=str(iid), split=split)
        lists = hasattr(engine, "samples") and (not is_vision(engine) or rows_known(engine))
        cell = cell_labels(engine, self.selected_cell) if lists else None
        if cell is not None:
            ids = engine.samples(cell[0], cell[1], k=CELL_SAMPLES)
            state.update(cell=list(self.selected_cell), ids=[_json_id(i) for i in ids], _ids=ids)
        if self._thumbnails is not None and hasattr(engine, "top_losses"):
            wanted = list(state["_ids"])
            if getattr(engine, "n_scored", 0) or (is_vision(engine) and rows_known(engine)):
                wanted += engine.top_losses(TOP_LOSSES)["id"].tolist()
            make = self._thumbnails.get if images else self._thumbnails.kept
            for sample_id in wanted:
                png, error = make(sample_id)
                if png is None and error is None:
                    continue  # not made yet: the page's request will
                if png is not None:
                    state["images"][id_key(sample_id)] = png
                else:
                    state["errors"][id_key(sample_id)] = error
        return state
