"""A run's iterations table as plain records: status, times, primary metric, best so far.

What ``Run.iterations()`` (pandas) and ``Run.iteration_records()`` (dicts)
return, read from one consistent snapshot of the store. The primary metric of
an iteration is its validation split's, else test's, else train's, else the
last value logged with ``log_metric`` under that name; SQLite picks it out of
each split's metrics JSON, so 1,000 iterations do not cost 1,000 JSON parses.
"""

from __future__ import annotations

import math
import time
from typing import Any

from .store import Store

#: Where an iteration's primary metric is read from, in order.
PRIMARY_SPLITS = ("validation", "test", "train")


def records(store: Store, run_id: int, primary_metric: str, goal: str) -> list[dict[str, Any]]:
    """One record per iteration of run `run_id`, oldest first (see the module docstring)."""
    with store.snapshot() as conn:
        rows = store.iteration_rows(run_id)
        # The primary metric only, picked out of each split's JSON by the database
        # (a present null is NaN: computed, undefined; no row: not computed).
        primary = store.split_metric_rows(run_id, primary_metric)
        # Through the iterations (the points_series index), not a scan of points.
        logged = conn.execute(
            "SELECT iteration_id, value FROM points WHERE iteration_id IN "
            "(SELECT id FROM iterations WHERE run_id = ?) AND kind = 'metric' AND name = ? "
            "ORDER BY id",
            (run_id, primary_metric),
        ).fetchall()
    metrics: dict[int, dict[str, float]] = {}
    for iteration_id, split, v in primary:
        metrics.setdefault(iteration_id, {})[split] = math.nan if v is None else float(v)
    last_logged = dict(logged)  # later points overwrite earlier ones
    best = math.nan
    sign = 1.0 if goal == "maximize" else -1.0
    now = time.time()
    out = []
    for row in rows:
        value = math.nan
        found = False
        by_split = metrics.get(row["id"], {})
        for split in PRIMARY_SPLITS:
            if split in by_split:
                value = by_split[split]
                found = True
                break
        if not found and row["id"] in last_logged:
            value = float(last_logged[row["id"]])
        if not math.isnan(value) and (math.isnan(best) or sign * value > sign * best):
            best = value
        started, ended = row["started"], row["ended"]
        if started is None:
            duration = None
        elif ended is not None:
            duration = ended - started
        elif row["status"] == "running":
            duration = now - started
        else:
            duration = None
        out.append(
            {
                "id": row["id"],
                "name": row["name"],
                "status": row["status"],
                "created": row["created"],
                "started": started,
                "ended": ended,
                "duration": duration,
                "metric": value,
                "best": best,
                "error": row["error"],
            }
        )
    return out
