"""HTML tables of the static summary's failure panels: by attribute, importance, top losses.

As the page shows them (``js/attributes.ts``, ``js/samples.ts``) but without
charts or thumbnails: one bucket table per attribute (samples, accuracy and
the macro recall, precision and F1 per bucket), the importance of each
attribute with being wrong and with the log loss, and the top losses.
Inline styles only, every name escaped.
"""

from __future__ import annotations

from ._contract import FailureDetail
from ._static_format import esc, fmt_column
from ._static_tables import _NUMS, _td, _th

#: Bucket columns of the static table, as the payload names them, with their heading.
BUCKET_COLUMNS = (
    ("accuracy", "Accuracy"),
    ("recall_macro", "Recall (macro)"),
    ("precision_macro", "Precision (macro)"),
    ("f1_macro", "F1 (macro)"),
    # vision runs (buckets of images)
    ("mAP", "mAP"),
    ("mAP_50", "mAP@0.5"),
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
    ("mean_iou", "Mean IoU"),
    ("pixel_accuracy", "Pixel accuracy"),
)


#: How each kind of attribute is related to the errors (the engine's measures).
MEASURES = {"numeric": "Spearman's rho", "categorical": "correlation ratio"}


def _table(cls: str, head: str, body: list[str]) -> str:
    return (
        f'<table class="{cls}" style="border-collapse:collapse;font-size:12px;{_NUMS}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def by_attribute_tables(failures: FailureDetail) -> list[tuple[str, str]]:
    """(title, table) per attribute: a row per bucket, in the engine's order."""
    out = []
    for table in failures["attributes"]:
        columns = [(m, h) for m, h in BUCKET_COLUMNS if m in table["metrics"]]
        texts = [fmt_column(table["metrics"][m]) for m, _ in columns]
        counts = fmt_column(table["count"], counts=True)
        head = _th("Bucket") + _th("Samples", True) + "".join(_th(h, True) for _, h in columns)
        body = [
            "<tr>" + _td(esc(b)) + _td(counts[i], True) + "".join(_td(t[i], True) for t in texts)
            + "</tr>"
            for i, b in enumerate(table["buckets"])
        ]  # fmt: skip
        out.append((f"By attribute: {table['name']}", _table("rw-static-buckets", head, body)))
    return out


def importance_table(failures: FailureDetail) -> str:
    """Each attribute's correlation with being wrong and with the log loss, strongest first."""
    tables = failures["attributes"]
    error = fmt_column([t["with_error"] for t in tables])
    loss = fmt_column([t["with_loss"] for t in tables])
    head = _th("Attribute") + _th("Measure") + _th("With error", True) + _th("With loss", True)
    body = [
        "<tr>" + _td(esc(t["name"])) + _td(MEASURES.get(t["kind"], "")) + _td(error[i], True)
        + _td(loss[i], True) + "</tr>"
        for i, t in enumerate(tables)
    ]  # fmt: skip
    return _table("rw-static-importance", head, body)


def top_losses_table(failures: FailureDetail) -> str:
    """The samples of highest log loss: id, true, predicted, loss (vision: its own columns)."""
    top = failures["top_losses"]
    losses = fmt_column([r["loss"] for r in top])
    first, second, third = failures.get("top_columns") or ("True", "Predicted", "Loss")
    head = _th("Id") + _th(esc(first)) + _th(esc(second)) + _th(esc(third), True)
    body = [
        "<tr>" + _td(esc(r["id"])) + _td(esc(r["true"])) + _td(esc(r["predicted"]))
        + _td(losses[i], True) + "</tr>"
        for i, r in enumerate(top)
    ]  # fmt: skip
    return _table("rw-static-top-losses", head, body)
