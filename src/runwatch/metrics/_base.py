"""The lifecycle every runwatch metric shares.

A metric is a handful of numpy arrays (its *state*) plus pure functions of
them. Each array is declared once with the rule that merges it (sum, min,
max or concatenation; never a mean, which would weight by the number of
calls instead of samples), so ``merge``, ``reset`` and the plain-array
``state_dict`` come from the declarations. Subclasses validate a whole batch
before they change anything, so a refused batch leaves the state as it was.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from ._state_entries import EntryKind, declared_entry, entry, plain_entries

MergeRule = Literal["sum", "min", "max", "cat"]
M = TypeVar("M", bound="Metric")

#: Version of the ``state_dict`` layout; bump it when a state array changes meaning.
STATE_FORMAT = 1

_MERGE = {
    "sum": np.add,
    "min": np.minimum,
    "max": np.maximum,
    "cat": lambda a, b: np.concatenate([a, b]),
}


class Metric(ABC):
    """Base of the engines: declared states, merge, reset, reasons and state dicts."""

    #: The task this metric scores; stored in its state dict.
    kind: ClassVar[str]
    #: What each ``config.*`` entry of the state dict holds (``_config_arrays``' keys).
    _config_entries: ClassVar[dict[str, EntryKind]]
    #: What the state dict's entries that are neither config nor declared arrays hold.
    _state_entries: ClassVar[dict[str, EntryKind]] = {}

    def __init__(self) -> None:
        self._declared: dict[str, tuple[np.ndarray, MergeRule]] = {}
        self._cache: dict[str, Any] | None = None

    # -- declared states ---------------------------------------------------
    def _add_state(self, name: str, default: Any, merge: MergeRule) -> None:
        """Declare one state array, its initial value and how two states combine."""
        default = np.asarray(default)
        self._declared[name] = (default, merge)
        setattr(self, name, default.copy())

    def _merge_declared(self, other: Metric) -> None:
        for name, (_, rule) in self._declared.items():
            setattr(self, name, _MERGE[rule](getattr(self, name), getattr(other, name)))

    def _declared_arrays(self) -> dict[str, np.ndarray]:
        return {name: np.array(getattr(self, name)) for name in self._declared}

    def _load_declared(self, state: dict[str, np.ndarray]) -> None:
        for name, (default, rule) in self._declared.items():
            setattr(self, name, declared_entry(state, name, default, stacked=rule == "cat"))

    # -- the public lifecycle ------------------------------------------------
    @abstractmethod
    def update(self, *args: Any, **kwargs: Any) -> None:
        """Fold one batch into the state (validated first; a bad batch changes nothing)."""

    @abstractmethod
    def compute(self) -> dict[str, float]:
        """Every metric of the task, by its Azure AutoML name; NaN where undefined."""

    @abstractmethod
    def reset(self) -> None:
        """Forget every batch: back to the state right after construction."""

    def reasons(self) -> dict[str, str]:
        """Why each NaN of ``compute()`` is NaN, by metric name."""
        self.compute()
        assert self._cache is not None
        return dict(self._cache["reasons"])

    def merge(self: M, *others: M) -> M:
        """Fold other metrics' states into this one (in place; returns self).

        Merging the states of any split of the data gives the state of one
        pass over all of it: counts exactly, float sums up to the rounding of
        their order of addition (README, "What a merge equals"). The others
        are not changed.
        """
        for other in others:
            if type(other) is not type(self):
                raise ValueError(
                    f"other must be a {type(self).__name__}; got {type(other).__name__}."
                )
            if not _same_config(self._config(), other._config()):
                raise ValueError(
                    f"other was made with different arguments ({other._config()!r}) "
                    f"than this metric ({self._config()!r}); only like metrics merge."
                )
        for other in others:
            self._merge_one(other)
            self._cache = None
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        """The state as plain numpy arrays (no objects, no pickle, no timestamps)."""
        out = {"kind": np.array(self.kind), "format": np.array(STATE_FORMAT)}
        for key, value in self._config_arrays().items():
            out[f"config.{key}"] = value
        out.update(self._state_arrays())
        for key, value in out.items():
            if not isinstance(value, np.ndarray) or value.dtype.kind == "O":
                raise TypeError(f"state {key!r} is not a plain array")  # a bug, not bad input
        return out

    @classmethod
    def from_state_dict(cls: type[M], state: dict[str, Any]) -> M:
        """A metric holding ``state`` (as made by ``state_dict``); ``state`` is not changed.

        Raises
        ------
        ValueError
            In one sentence naming ``state`` and the entry, when ``state`` is not
            a state dict of this metric: an entry missing, of the wrong kind
            (a number given as a string, a float where integers belong) or
            shape, or not fitting the others.
        """
        entries = plain_entries(state)
        kind = str(entry(entries, "kind", "text"))
        if kind != cls.kind:
            raise ValueError(f"state['kind'] is {kind!r}: a {kind} state, not a {cls.kind} one.")
        version = int(entry(entries, "format", "int"))
        if version != STATE_FORMAT:
            raise ValueError(
                f"state['format'] is {version}; this runwatch reads format {STATE_FORMAT}."
            )
        config = {
            name: entry(entries, f"config.{name}", what)
            for name, what in cls._config_entries.items()
        }
        for name, what in cls._state_entries.items():
            entry(entries, name, what)
        try:
            metric = cls(**cls._config_from_arrays(config))
        except ValueError as exc:
            # The constructor's message starts with the argument's name: name the entry too.
            named = [k for k in config if str(exc).startswith(k)]
            where = f"state['config.{max(named, key=len)}']" if named else "state's config"
            raise ValueError(f"{where} is not a valid {cls.__name__} argument: {exc}") from None
        metric._load_state_arrays(entries)
        return metric

    # -- what subclasses provide ---------------------------------------------
    @abstractmethod
    def _config(self) -> dict[str, Any]:
        """The constructor arguments, as given."""

    @abstractmethod
    def _config_arrays(self) -> dict[str, np.ndarray]:
        """The constructor arguments as arrays."""

    @classmethod
    @abstractmethod
    def _config_from_arrays(cls, config: dict[str, np.ndarray]) -> dict[str, Any]:
        """Constructor keyword arguments back from ``_config_arrays``."""

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return self._declared_arrays()

    def _load_state_arrays(self, state: dict[str, np.ndarray]) -> None:
        self._load_declared(state)

    def _merge_one(self, other: Metric) -> None:
        self._merge_declared(other)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items() if v is not None)
        return f"{type(self).__name__}({args})"


def _same_config(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(
        np.array_equal(np.asarray(a[k]), np.asarray(b[k]))
        if isinstance(a[k], (list, np.ndarray)) or isinstance(b[k], (list, np.ndarray))
        else a[k] == b[k]
        for k in a
    )
