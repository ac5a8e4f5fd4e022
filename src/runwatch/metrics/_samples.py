"""The samples behind the numbers: per-cell reservoirs of ids and the top-loss heap.

Both are a few plain arrays (ids, a 64-bit hash of each id, true and
predicted class indices) and both merge exactly, whatever the order:

- **reservoirs**: each confusion-matrix cell keeps the ``RESERVOIR`` ids of
  smallest hash (bottom-k sampling). With a hash that behaves as random,
  the k smallest of a set are a uniform sample of it without replacement,
  and the k smallest of a union are the k smallest of the parts' k
  smallest: a merged state holds exactly the sample one pass would have.
  The hash is seeded (``SEED``), computed in numpy (splitmix64 over the
  integer, FNV-1a over the code points of a string), so the sample is the
  same in every process and Python's randomised ``hash`` plays no part;
- **top losses**: the ``TOP_LOSSES`` samples of highest per-sample log loss,
  ties broken by the hash then the id, so any merge order keeps the same rows.

Ids are integers or strings, one kind per stream, stored as an int64 or a
unicode array (no pickle).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

#: Ids kept per confusion-matrix cell; ``samples(k=)`` takes at most this many.
RESERVOIR = 100
#: Rows kept by the top-loss heap; ``top_losses(k=)`` takes at most this many.
TOP_LOSSES = 100
#: The hash seed of the reservoirs.
SEED = 0

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_FNV_PRIME = np.uint64(0x100000001B3)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)


def check_k(k: Any, most: int | None = None) -> int:
    """``k`` of ``samples`` / ``top_losses``: an int from 1 (to ``most``), or one sentence."""
    if (
        not isinstance(k, (int, np.integer))
        or isinstance(k, bool)
        or k < 1
        or (most is not None and k > most)
    ):
        span = f"from 1 to {most}" if most is not None else ">= 1"
        raise ValueError(f"k must be an int {span}; got {k!r}.")
    return int(k)


def check_cell(true: Any, pred: Any, labels: list[Any]) -> tuple[int, int]:
    """The (row, column) of the confusion-matrix cell (``true``, ``pred``) among ``labels``."""
    cell = []
    for arg, label in (("true", true), ("pred", pred)):
        if label not in labels:
            raise ValueError(f"{arg} {label!r} is not one of the labels {labels}.")
        cell.append(labels.index(label))
    return cell[0], cell[1]


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def id_hash(ids: np.ndarray, seed: int = SEED) -> np.ndarray:
    """A seeded 64-bit hash of each id (int64 or unicode array), the same in every process."""
    if ids.dtype.kind in "iu":
        x = ids.astype(np.int64).view(np.uint64)
    else:
        # FNV-1a over the code points (numpy's UCS-4, read in native byte order), stopping
        # at the padding: a batch pads its strings to its longest, which must not count.
        width = max(ids.dtype.itemsize // 4, 1)
        points = np.ascontiguousarray(ids.astype(f"=U{width}")).view(np.uint32)
        points = points.reshape(ids.size, width)
        x = np.full(ids.size, _FNV_OFFSET, np.uint64)
        for column in points.T:  # one pass per character position, vectorised over the ids
            c = column.astype(np.uint64)
            x = np.where(column != 0, (x ^ c) * _FNV_PRIME, x)
    key = _splitmix(np.array([seed], np.int64).view(np.uint64))
    return _splitmix(x ^ key)


def check_ids(
    sample_ids: Any,
    n: int,
    start: int | np.ndarray,
    known: np.ndarray | None,
    rows: str = "y_true has {n} samples",
) -> np.ndarray:
    """The batch's ids as an int64 or unicode array (default: ``start``, ``start + 1``, ...).

    ``start`` may instead be the default ids themselves (an int64 array);
    ``known`` holds ids kept so far (their dtype fixes the kind); ``rows``
    names the batch's length in a refusal. Raises ``ValueError`` naming
    ``sample_ids``.
    """
    if sample_ids is None:
        ids = (np.arange(start, start + n, dtype=np.int64) if isinstance(start, int)
               else np.asarray(start, np.int64))  # fmt: skip
    else:
        if isinstance(sample_ids, (str, bytes)):
            raise ValueError("sample_ids must be a sequence of ids, not a single string.")
        try:
            raw = np.asarray(sample_ids)
        except Exception:
            raise ValueError("sample_ids must be a 1-D sequence of integers or strings.") from None
        if raw.ndim != 1:
            raise ValueError(
                f"sample_ids must be a 1-D sequence of integers or strings; got shape {raw.shape}."
            )
        if raw.shape[0] != n:
            raise ValueError(f"sample_ids has {raw.shape[0]} ids but {rows.format(n=n)}.")
        ids = _plain_ids(raw)
    if (
        known is not None
        and known.size
        and ids.size
        and (known.dtype.kind == "U") != (ids.dtype.kind == "U")
    ):
        was, now = ("strings", "integers") if known.dtype.kind == "U" else ("integers", "strings")
        how = "" if sample_ids is not None else " (the default ids are the running index)"
        raise ValueError(f"sample_ids are {now}{how} but earlier batches gave {was}.")
    return ids


def _plain_ids(raw: np.ndarray) -> np.ndarray:
    kind = raw.dtype.kind
    if kind in "iu":
        if kind == "u" and raw.size and raw.max() > np.iinfo(np.int64).max:
            raise ValueError("sample_ids holds integers beyond the int64 range.")
        return raw.astype(np.int64)
    if kind == "U":
        return raw
    if kind == "O":
        values = raw.tolist()
        if all(isinstance(v, str) for v in values):
            return np.array(values, dtype=str) if values else np.zeros(0, "U1")
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            return np.array(values, dtype=np.int64)
        for v in values:
            if not isinstance(v, (str, int, np.integer)) or isinstance(v, bool):
                raise ValueError(
                    f"sample_ids must hold integers or strings; got {type(v).__name__} {v!r}."
                )
        raise ValueError("sample_ids mixes integers and strings; give one kind.")
    raise ValueError(f"sample_ids must hold integers or strings; got dtype {raw.dtype}.")


@dataclass(frozen=True)
class Kept:
    """Rows of ids with their hash, true and predicted class and (top losses) loss."""

    ids: np.ndarray
    hashes: np.ndarray
    true: np.ndarray
    pred: np.ndarray
    loss: np.ndarray

    @classmethod
    def empty(cls) -> Kept:
        """No rows."""
        return cls(
            np.zeros(0, np.int64), np.zeros(0, np.uint64), np.zeros(0, np.int64),
            np.zeros(0, np.int64), np.zeros(0),
        )  # fmt: skip

    def plus(self, other: Kept) -> Kept:
        """Both sets of rows (ids of one kind), unordered."""
        ids = other.ids if self.ids.size == 0 else (
            self.ids if other.ids.size == 0 else np.concatenate([self.ids, other.ids])
        )  # fmt: skip
        return Kept(
            ids,
            np.concatenate([self.hashes, other.hashes]),
            np.concatenate([self.true, other.true]),
            np.concatenate([self.pred, other.pred]),
            np.concatenate([self.loss, other.loss]),
        )

    def take(self, where: np.ndarray) -> Kept:
        """The rows at ``where``, in that order."""
        return Kept(
            self.ids[where], self.hashes[where], self.true[where], self.pred[where],
            self.loss[where],
        )  # fmt: skip

    def relabeled(self, where: np.ndarray) -> Kept:
        """Class indices moved to a grown label list (``where[old] = new``)."""
        if self.true.size == 0:
            return self
        return replace(self, true=where[self.true], pred=where[self.pred])

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        """The rows as plain arrays under ``prefix``."""
        out = {
            f"{prefix}.ids": self.ids, f"{prefix}.hash": self.hashes,
            f"{prefix}.true": self.true, f"{prefix}.pred": self.pred,
        }  # fmt: skip
        if prefix == "top":
            out["top.loss"] = self.loss
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], prefix: str, k: int) -> Kept:
        """The rows back from ``state``, checked (``ValueError`` naming the entry)."""
        ids = state[f"{prefix}.ids"]
        if ids.dtype.kind not in "iuU" or ids.ndim != 1:
            raise ValueError(f"state['{prefix}.ids'] must be a 1-D array of integers or strings.")
        n = ids.size
        arrays = {}
        names = ("hash", "true", "pred", "loss") if prefix == "top" else ("hash", "true", "pred")
        wanted = {"hash": ("u", "64-bit hashes"), "true": ("iu", "class indices"),
                  "pred": ("iu", "class indices"), "loss": ("iuf", "losses")}  # fmt: skip
        for name, dtype in zip(names, (np.uint64, np.int64, np.int64, np.float64)):
            key = f"{prefix}.{name}"
            value = state[key]
            kinds, what = wanted[name]
            if value.shape != (n,) or value.dtype.kind not in kinds:
                raise ValueError(f"state[{key!r}] must hold {n} {what}, one per id.")
            arrays[name] = value.astype(dtype)
        for name in ("true", "pred"):
            if n and (arrays[name].min() < 0 or arrays[name].max() >= k):
                raise ValueError(f"state['{prefix}.{name}'] holds classes outside the {k} labels.")
        loss = arrays.get("loss", np.zeros(n))
        ids = ids.astype(np.int64) if ids.dtype.kind in "iu" else ids
        return cls(ids, arrays["hash"], arrays["true"], arrays["pred"], loss)


def concat(parts: list[Kept]) -> Kept:
    """The rows of all ``parts`` (ids of one kind), unordered, in one copy."""
    parts = [p for p in parts if p.ids.size]
    if len(parts) <= 1:
        return parts[0] if parts else Kept.empty()
    return Kept(*(np.concatenate([getattr(p, f) for p in parts])
                  for f in ("ids", "hashes", "true", "pred", "loss")))  # fmt: skip


def keep_per_cell(rows: Kept, cap: int = RESERVOIR) -> Kept:
    """Per (true, predicted) cell, the ``cap`` rows of smallest hash, in hash order.

    Equal hashes are equal ids (a 64-bit collision of two ids aside), so
    their order does not matter and the ids need not be sorted on.
    """
    if rows.ids.size == 0:
        return rows
    k = int(max(rows.true.max(), rows.pred.max())) + 1
    cell = rows.true * k + rows.pred
    order = _by_cell_then_hash(cell, rows.hashes, k * k)
    cell = cell[order]
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    rank = np.arange(cell.size) - np.repeat(starts, np.diff(np.r_[starts, cell.size]))
    return rows.take(order[rank < cap])


def _by_cell_then_hash(cell: np.ndarray, hashes: np.ndarray, n_cells: int) -> np.ndarray:
    """The order of the rows by cell, then hash (rows of equal hash in any order)."""
    bits = max(int(n_cells - 1).bit_length(), 1)
    if bits <= 32:
        # One 64-bit key, the cell above the hash's top bits, sorts about 4x faster than a
        # two-key lexsort; it is the same order unless two keys tie with different hashes.
        key = (cell.astype(np.uint64) << np.uint64(64 - bits)) | (hashes >> np.uint64(bits))
        order = np.argsort(key)
        tie = key[order[1:]] == key[order[:-1]]
        if not tie.any() or np.array_equal(hashes[order[1:]][tie], hashes[order[:-1]][tie]):
            return order
    return np.lexsort((hashes, cell))


def keep_top(rows: Kept, cap: int = TOP_LOSSES) -> Kept:
    """The ``cap`` rows of highest loss (ties: smaller hash, then smaller id), highest first."""
    if rows.ids.size == 0:
        return rows
    if rows.loss.size > cap:  # only rows at or above the cap-th largest loss can be kept
        cut = np.partition(rows.loss, rows.loss.size - cap)[rows.loss.size - cap]
        rows = rows.take(np.flatnonzero(rows.loss >= cut))
    order = np.lexsort((rows.ids, rows.hashes, -rows.loss))
    return rows.take(order[:cap])


def cell_ids(rows: Kept, true: int, pred: int, k: int) -> list[Any]:
    """The first ``k`` ids (by hash) of the cell ``(true, pred)``, sorted."""
    mine = rows.ids[(rows.true == true) & (rows.pred == pred)][:k]
    return np.sort(mine).tolist()
