"""COCO RLE masks kept as runs: area, bounding box and intersections without decoding.

A mask given as a COCO run-length encoding is a list of run lengths over
its column-major pixels, alternating background and foreground from a run
of background. ``RunMasks`` keeps each mask's foreground runs as half-open
intervals ``[start, end)`` of that flat index, which is all COCO's mask IoU
needs: the area is the summed lengths, the box follows from the columns
and rows where runs start and end, and the pixels two masks share are the
overlap of their intervals, counted with a binary search
(``intersection``). A 512 x 512 mask is a few hundred intervals instead of
262,144 booleans, so RLE input is never decoded (``dense`` does it only
when an image mixes RLE dicts and arrays).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RunMasks:
    """``n`` masks of ``height`` x ``width``, each as its foreground intervals."""

    height: int
    width: int
    starts: list[np.ndarray]  # per mask, int64 starts of its foreground runs, ascending
    ends: list[np.ndarray]  # per mask, their ends (exclusive)

    @classmethod
    def from_counts(cls, height: int, width: int, counts: list[np.ndarray]) -> RunMasks:
        """Masks from COCO run lengths (each covering ``height * width`` pixels)."""
        starts, ends = [], []
        for runs in counts:
            edges = np.cumsum(runs)
            begin, stop = edges[0::2], edges[1::2]  # a foreground run starts where zeros end
            begin = begin[: stop.size]
            full = stop > begin  # zero-length runs hold no pixel
            starts.append(begin[full])
            ends.append(stop[full])
        return cls(height, width, starts, ends)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n, H, W)``, as an array of the same masks would have."""
        return (len(self.starts), self.height, self.width)

    def area(self) -> np.ndarray:
        """Pixels in each mask, as float64."""
        return np.array([float((e - s).sum()) for s, e in zip(self.starts, self.ends)])

    def boxes(self) -> np.ndarray:
        """Each mask's pixel box ``(row0, row1, col0, col1)``, inclusive; ``-1`` rows if empty.

        A run that crosses a column boundary covers the bottom of one column
        and the top of the next, so its rows span the whole height.
        """
        out = np.full((len(self.starts), 4), -1, np.int64)
        h = self.height
        for i, (s, e) in enumerate(zip(self.starts, self.ends)):
            if not s.size:
                continue
            last = e - 1
            col0, col1 = s // h, last // h
            wraps = col1 > col0
            row0 = np.where(wraps, 0, s % h)
            row1 = np.where(wraps, h - 1, last % h)
            out[i] = row0.min(), row1.max(), col0[0], col1[-1]
        return out

    def dense(self) -> np.ndarray:
        """The masks decoded to ``(n, H, W)`` booleans."""
        size = self.width * self.height
        out = np.zeros((len(self.starts), size), bool)
        for i, (s, e) in enumerate(zip(self.starts, self.ends)):
            # +1 at each start, -1 at each end, summed: 1 inside a run (runs never overlap).
            step = np.zeros(size + 1, np.int8)
            step[s] += 1
            step[e] -= 1
            out[i] = np.cumsum(step[:-1], dtype=np.int8) > 0
        return out.reshape(-1, self.width, self.height).transpose(0, 2, 1)


def intersection(
    a_starts: np.ndarray, a_ends: np.ndarray, b_starts: np.ndarray, b_ends: np.ndarray
) -> int:
    """Pixels shared by two masks given as sorted, disjoint intervals.

    ``|A ∩ B|`` is the sum over B's intervals of A's pixels inside each,
    ``F(end) - F(start)`` with ``F(x)`` A's pixels before ``x``: all pixels of
    the ``k`` intervals starting at or before ``x``, less the part of the
    last of them that lies at or after ``x``.
    """
    if not a_starts.size or not b_starts.size:
        return 0
    before = np.concatenate(([0], np.cumsum(a_ends - a_starts)))
    ends = np.concatenate(([0], a_ends))  # ends[k]: the end of the k-th interval (1-based)
    x = np.concatenate((b_ends, b_starts))
    k = np.searchsorted(a_starts, x, side="right")
    covered = before[k] - np.maximum(ends[k] - x, 0)
    return int(covered[: b_ends.size].sum() - covered[b_ends.size :].sum())
