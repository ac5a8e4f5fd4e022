"""The Python side (widget traits, _contract TypedDicts) and js/model.ts name the same things."""

import re
import typing
from pathlib import Path

import anywidget
import pytest

from runwatch.widget import RunDetails, _contract

MODEL_TS = Path(__file__).resolve().parents[2] / "js" / "model.ts"


def ts_interface(name: str) -> dict[str, str]:
    """The fields of `export interface <name> { ... }` in js/model.ts: key -> TS type text."""
    source = MODEL_TS.read_text()
    match = re.search(r"export interface " + name + r" \{(.*?)\n\}", source, re.S)
    assert match, f"js/model.ts has no interface {name}"
    fields = {}
    for line in match.group(1).splitlines():
        line = line.split("//")[0].strip()
        m = re.match(r"(\w+)\??:\s*(.+?);$", line)
        if m:
            fields[m.group(1)] = m.group(2)
    return fields


def synced_traits() -> set[str]:
    own = set(RunDetails.class_traits(sync=True)) - set(anywidget.AnyWidget.class_traits(sync=True))
    return own


def test_model_interface_lists_exactly_the_synced_traits():
    assert set(ts_interface("Model")) == synced_traits()
    assert set(_contract.MODEL_TRAITS) == synced_traits()


@pytest.mark.parametrize(
    "name",
    [
        "RunInfo",
        "IterationRow",
        "PerClassRow",
        "Confusion",
        "SplitDetail",
        "Detail",
        "LossPoint",
        "Snapshot",
        "Batch",
        "AttributeBuckets",
        "TopLoss",
        "FailureDetail",
        "Gallery",
        "StepSnapshot",
    ],
)
def test_payload_types_have_the_same_fields_on_both_sides(name):
    py = set(typing.get_type_hints(getattr(_contract, name)))
    assert set(ts_interface(name)) == py


def test_delta_kinds_agree():
    source = MODEL_TS.read_text()
    ts_kinds = set(re.findall(r'\{ kind: "(\w+)"', source))
    py_kinds = {
        typing.get_args(typing.get_type_hints(t)["kind"])[0]
        for t in typing.get_args(_contract.Delta)
    }
    assert ts_kinds == py_kinds == {"run", "iteration", "detail", "loss", "step"}


def test_splits_agree():
    source = MODEL_TS.read_text()
    ts = re.search(r"export const SPLITS = \[(.*?)\]", source).group(1)
    assert [s.strip().strip('"') for s in ts.split(",")] == list(_contract.SPLITS)


def test_the_module_is_the_built_loader_and_the_bundle_holds_the_front_end():
    static = Path(__file__).resolve().parents[2] / "src" / "runwatch" / "static"
    assert (static / "bundle.js").is_file(), "run `npm run build` first"
    loader, code = (static / "widget.js").read_text(), (static / "bundle.js").read_text()
    assert str(RunDetails._esm) == loader
    assert len(loader) < 3_000, "_esm goes with every widget shown: it must stay a loader"
    assert 'model.get("_bundle")' in loader and '.get("code")' in loader
    for part in (loader, code):
        assert not re.search(r"""(import|from)\s*\(?\s*["'](https?:)?//""", part)
    assert "rw-root" in code  # the front end itself, not an empty shell


def test_the_front_end_goes_once_per_kernel_as_a_binary_buffer(sweep):
    from ipywidgets.widgets.widget import _remove_buffers

    from runwatch.widget import _frontend

    first, second = RunDetails(sweep.run, live=False), RunDetails(sweep.run, live=False)
    try:
        shared = first._bundle
        assert second._bundle is shared
        assert shared.code == _frontend.BUNDLE.read_bytes()
        # RunDetails sends a reference; the code travels once, as a buffer.
        assert first.get_state()["_bundle"] == f"IPY_MODEL_{shared.model_id}"
        state, paths, buffers = _remove_buffers(shared.get_state())
        assert paths == [["code"]] and bytes(buffers[0]) == shared.code
        # Closed (Widget.close_all(), say), it is made again for the next widget.
        shared.close()
        third = RunDetails(sweep.run, live=False)
        try:
            assert third._bundle is not shared and third._bundle.comm is not None
        finally:
            third.close()
    finally:
        first.close()
        second.close()


def test_the_snapshot_travels_as_json_text(sweep):
    import json

    w = RunDetails(sweep.run, live=False)
    try:
        sent = w.get_state()["_snapshot"]  # what ipywidgets puts on the wire
        assert isinstance(sent, str)
        assert json.loads(sent) == w._snapshot
        assert _contract.snapshot_from_json(sent) == w._snapshot
    finally:
        w.close()
