"""The failure panels of vision runs: what differs from classification's (``_samples``).

Detection, instance and semantic segmentation engines slice images, not
samples: their ``by_attribute`` tables carry COCO's ``mAP`` / ``mAP_50`` and
P/R/F1 at the score threshold, or the mean IoU and pixel accuracy, and no
per-class recall; their top losses are images with their own columns
(objects and found / false / missed detections; valid pixels and the pixel
error) instead of a true and a predicted class. The detection matrix has a
``background`` row and column, whose cells list images too.
"""

from __future__ import annotations

from typing import Any

from ._contract import TopLoss
from ._payload import number

#: Vision engines' kinds (``Metric.kind``); those whose matrix has a background.
VISION = ("detection", "instance_segmentation", "segmentation")
BOXES = ("detection", "instance_segmentation")
#: The matrix's row and column for "no box there" (``metrics.detection.BACKGROUND``).
BACKGROUND = "background"
#: Headings of the top-losses table's three value columns, per engine kind.
TOP_COLUMNS = {
    "detection": ["Objects", "Found, false, missed", "1 \u2212 F1"],
    "instance_segmentation": ["Objects", "Found, false, missed", "1 \u2212 F1"],
    "segmentation": ["Pixels", "Pixel error", "1 \u2212 mean IoU"],
}


#: What the importance chart's two bars correlate with, per engine kind (``with_error``,
#: ``with_loss``): the engines' per-image error and loss.
IMPORTANCE_TARGETS = {
    "detection": ("any error", "1 \u2212 F1"),
    "instance_segmentation": ("any error", "1 \u2212 F1"),
    "segmentation": ("pixel error", "1 \u2212 mean IoU"),
}


def is_vision(engine: Any) -> bool:
    """Whether ``engine`` scores images (detection, instance or semantic segmentation)."""
    return getattr(engine, "kind", None) in VISION


def rows_known(engine: Any) -> bool:
    """False for a vision state stored before per-image rows were kept (its tables refuse)."""
    return bool(getattr(engine, "has_image_rows", False))


def cell_names(engine: Any) -> list[Any]:
    """The labels a matrix cell may name: the classes, and ``background`` for detection."""
    labels = list(engine.labels)
    return [*labels, BACKGROUND] if engine.kind in BOXES else labels


def top_loss_rows(engine: Any, k: int) -> list[TopLoss]:
    """The ``k`` worst images as the top-losses table's rows.

    ``true`` and ``predicted`` hold the kind's two columns (``TOP_COLUMNS``);
    ``id`` the engine's id as it is (the caller makes it JSON's).
    """
    top = engine.top_losses(k)
    rows: list[TopLoss] = []
    for r in top.itertuples(index=False):
        if engine.kind == "segmentation":
            first, second = f"{int(r.pixels):,}", f"{number(r.pixel_error):.4g}"
        else:
            first, second = f"{int(r.objects)}", f"{int(r.tp)}, {int(r.fp)}, {int(r.fn)}"
        rows.append({"id": r.id, "true": first, "predicted": second,
                     "loss": number(r.loss)})  # fmt: skip
    return rows

