"""The views layer's contract: pure, documented, below the widget."""

import ast
import inspect
from pathlib import Path

import altair as alt

import runwatch.views as views

VIEWS = Path(views.__file__).parent
FORBIDDEN = ("runwatch.widget", "runwatch.tracking", "anywidget", "ipywidgets", "traitlets")
IO = ("os", "pathlib", "io", "sqlite3", "urllib", "requests", "socket", "shutil", "tempfile")


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield "runwatch.views." + (node.module or "")
            else:
                yield node.module
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
            yield "open()"


def test_views_never_import_the_widget_tracking_or_io():
    for path in VIEWS.glob("*.py"):
        for name in _imports(path):
            assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
            # plain data in: not even the engine is imported (that runwatch.metrics
            # stays free of altair is tests/test_package.py's check)
            assert not name.startswith("runwatch") or name.startswith("runwatch.views"), name
            assert name.split(".")[0] not in IO and name != "open()", f"{path.name}: {name}"
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path.name} has no docstring"


def test_public_functions_are_documented_and_charts_are_altair(multiclass):
    for name in views.__all__:
        obj = getattr(views, name)
        if callable(obj):
            doc = inspect.getdoc(obj)
            assert doc and "Parameters" in doc and "Returns" in doc, name
    charts = [
        views.roc_chart(multiclass.curves["roc"]),
        views.confusion_chart(multiclass.matrix),
        views.loss_chart(),
    ]
    assert all(isinstance(c, (alt.Chart, alt.LayerChart)) for c in charts)


def test_specs_are_deterministic(binary):
    """Same input, same spec: the widget can compare specs to skip a resend."""
    for make in (
        lambda: views.roc_chart(binary.curves["roc"]),
        lambda: views.confusion_chart(binary.matrix),
        lambda: views.loss_chart([{"split": "train", "step": 0, "value": 1.0}]),
    ):
        assert make().to_dict(validate=False) == make().to_dict(validate=False)
