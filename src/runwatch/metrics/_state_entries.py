"""Reading a state dict back: every entry checked, every refusal naming ``state[key]``.

``from_state_dict`` takes a dict that may come from anywhere (``np.load`` of
an ``.npz``, a JSON export, a hand-edited copy), so before an engine reads an
entry it passes through here: :func:`plain_entries` reads the dict without
copying or changing it, :func:`entry` checks an entry of a known kind (a flag,
an integer, text, labels ...) and :func:`declared_entry` one of the state
arrays a metric declared, against its empty default (dtype family and shape).
Each refusal is one ``ValueError`` sentence naming ``state`` and the entry, so
a missing entry is never a bare ``KeyError`` and a number given as a string
never an ``int()`` error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

#: What an entry that is not a declared state array holds.
#: ``flag``: a 0-d bool; ``int``: a 0-d integer; ``number``: a 0-d real (NaN allowed:
#: some configs store None as NaN); ``text``: a 0-d string; ``labels``: a 1-D array of
#: distinct labels (numbers or strings); ``numbers``: a 1-D real array; ``array``: a real
#: array of any shape (its owner checks the shape); ``ids``: a 1-D array of integers or
#: strings, repeats allowed (sample ids, attribute names).
EntryKind = Literal["flag", "int", "number", "text", "labels", "numbers", "array", "ids"]

_WANT = {
    "flag": "a boolean",
    "int": "an integer",
    "number": "a number",
    "text": "a string",
    "labels": "a 1-D array of labels",
    "numbers": "a 1-D array of numbers",
    "array": "an array of numbers",
    "ids": "a 1-D array of integers or strings",
}
_DTYPE_WORDS = {"b": "booleans", "i": "integers", "u": "integers", "f": "numbers"}


def plain_entries(state: Any) -> dict[str, np.ndarray]:
    """The entries of ``state`` as numpy arrays, unchecked; ``state`` is neither copied nor changed.

    Raises ``ValueError`` unless ``state`` is a mapping of string keys to plain
    (non-object) arrays, naming the first entry that is not.
    """
    if not isinstance(state, Mapping):
        raise ValueError(f"state must be a dict of arrays; got {type(state).__name__}.")
    out: dict[str, np.ndarray] = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise ValueError(f"state has the key {key!r}; state dict keys are strings.")
        try:
            array = np.asarray(value)
        except Exception as exc:  # ragged lists, exotic objects
            raise ValueError(f"state[{key!r}] could not be read as an array: {exc}.") from None
        if array.dtype.kind not in "biufUS":
            raise ValueError(
                f"state[{key!r}] must be a plain array of numbers or text; got dtype {array.dtype}."
            )
        out[key] = array
    return out


def entry(entries: dict[str, np.ndarray], key: str, kind: EntryKind) -> np.ndarray:
    """``entries[key]``, checked to be of ``kind``; ``ValueError`` naming ``state[key]`` if not."""
    value = _present(entries, key)
    dtype = value.dtype.kind
    if kind == "flag":
        ok = value.ndim == 0 and dtype == "b"
    elif kind == "int":
        ok = value.ndim == 0 and dtype in "iu"
    elif kind == "number":
        ok = value.ndim == 0 and dtype in "iuf"
    elif kind == "text":
        ok = value.ndim == 0 and dtype in "US"
    elif kind == "labels":
        ok = value.ndim == 1 and dtype in "biufUS"
        if ok and dtype == "f" and not np.all(np.isfinite(value)):
            raise ValueError(f"state[{key!r}] holds NaN or infinite labels.")
        if ok and np.unique(value).size != value.size:
            raise ValueError(f"state[{key!r}] holds the same label twice.")
    elif kind == "numbers":
        ok = value.ndim == 1 and dtype in "iuf"
    elif kind == "ids":
        ok = value.ndim == 1 and dtype in "iuU"
    else:
        ok = dtype in "iuf"
    if not ok:
        raise ValueError(f"state[{key!r}] must be {_WANT[kind]}; got {describe(value)}.")
    return value


def declared_entry(
    entries: dict[str, np.ndarray], key: str, default: np.ndarray, stacked: bool
) -> np.ndarray:
    """``entries[key]`` as a fresh array of ``default``'s dtype, checked against ``default``.

    The entry must hold values of the default's family (any real number for a
    float state, integers for an integer state, booleans for a boolean one;
    never text) and its shape: exactly, or with any length along the first
    axis when ``stacked`` (a state merged by concatenation).
    """
    value = _present(entries, key)
    want = default.dtype.kind
    accepted = {"f": "biuf", "i": "biu", "u": "biu", "b": "b"}[want]
    if value.dtype.kind not in accepted:
        raise ValueError(f"state[{key!r}] must hold {_DTYPE_WORDS[want]}; got {describe(value)}.")
    if stacked:
        fits = value.ndim == default.ndim and value.shape[1:] == default.shape[1:]
        expected = str(("n", *default.shape[1:])).replace("'", "")  # "(n,)", "(n, 3)"
    else:
        fits = value.shape == default.shape
        expected = str(default.shape)
    if not fits:
        raise ValueError(f"state[{key!r}] has shape {value.shape}; it must be {expected}.")
    if want in "iu" and value.size and value.dtype != default.dtype:
        info = np.iinfo(default.dtype)
        if value.min() < info.min or value.max() > info.max:
            raise ValueError(f"state[{key!r}] holds integers outside the range of {default.dtype}.")
    return value.astype(default.dtype, copy=True)


def describe(value: np.ndarray) -> str:
    """A few words on what an entry holds, for an error message."""
    if value.ndim == 0:
        what = "the string" if value.dtype.kind in "US" else f"the {value.dtype} value"
        return f"{what} {value.item()!r}"
    return f"an array of shape {value.shape} and dtype {value.dtype}"


def _present(entries: dict[str, np.ndarray], key: str) -> np.ndarray:
    if key not in entries:
        raise ValueError(f"state is missing the entry {key!r}.")
    return entries[key]
