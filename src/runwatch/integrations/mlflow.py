"""``rw.import_mlflow``: the runs of an MLflow experiment as one runwatch run.

Each finished MLflow run becomes an iteration carrying its parameters, its
tags (``mlflow.*`` system tags left out, ``mlflow.run_id`` added), every
metric's history as logged metrics (step and time kept; NaN and
infinite values, which MLflow keeps, are left out), the histories whose
key holds ``loss`` also as losses (``val``/``valid`` in the key: validation
split, ``test``: test, else train), and its status (FINISHED: completed,
FAILED: failed, KILLED: canceled). Runs still RUNNING or SCHEDULED are left
for a later import. Importing again adds only the runs not imported yet
(matched by their MLflow run id), so it never duplicates.

Everything is read from MLflow before the first write: an import that fails
leaves the store as it was. The iterations start and end when the MLflow runs
did (MLflow's milliseconds, also kept as the tags ``mlflow.start_time`` and
``mlflow.end_time``), so durations and the widget's clock times are MLflow's.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runwatch.tracking import Run
from runwatch.tracking._validate import check_name

__all__ = ["import_mlflow"]

STATUS = {"FINISHED": "completed", "FAILED": "failed", "KILLED": "canceled"}


def import_mlflow(
    tracking_uri: Any,
    experiment: str | None = None,
    store: Any = None,
    name: str | None = None,
    primary_metric: str | None = None,
) -> Run:
    """Import the runs of an MLflow experiment into a runwatch run.

    Parameters
    ----------
    tracking_uri : str or path
        A local ``mlruns`` folder (path or ``file://`` URI), a database URI
        MLflow takes (``sqlite:///mlflow.db``) or a tracking server URL.
    experiment : str, optional
        The experiment's name or id. Default: the only experiment that has
        runs.
    store : str or path, optional
        The runwatch store (default as :class:`~runwatch.tracking.Run`'s).
    name : str, optional
        The runwatch run's name. Default: the experiment's name.
    primary_metric : str, optional
        The MLflow metric that ranks the iterations (Default: Run's).

    Returns
    -------
    Run
        The run (created, or the one imported into before).

    Raises
    ------
    ValueError
        On a bad argument, an unknown experiment, or a tracking URI MLflow
        cannot read; nothing is written then.
    """
    uri = _check_uri(tracking_uri)
    if experiment is not None and not isinstance(experiment, str):
        raise ValueError(f"experiment must be a name or id (str), got {type(experiment).__name__}")
    if name is not None:
        check_name(name, "name")
    if primary_metric is not None:
        check_name(primary_metric, "primary_metric")
    exp, mlruns = _read(uri, experiment)
    run = Run(name or exp.name, primary_metric=primary_metric, store=store)
    done = {it.tags.get("mlflow.run_id") for it in run.iteration_list()}
    for info, params, tags, histories in mlruns:
        if info.run_id in done:
            continue
        _write(run, info, params, tags, histories)
    run.flush()
    return run


def _check_uri(tracking_uri: Any) -> str:
    if isinstance(tracking_uri, Path):
        tracking_uri = str(tracking_uri)
    if not isinstance(tracking_uri, str) or not tracking_uri.strip():
        raise ValueError(
            f"tracking_uri must be an mlruns folder or an MLflow tracking URI, got {tracking_uri!r}"
        )
    if "://" not in tracking_uri and ":" not in tracking_uri.split("/")[0]:
        folder = Path(tracking_uri)
        if not folder.is_dir():
            raise ValueError(f"tracking_uri {tracking_uri!r} is not a folder (an MLflow mlruns)")
        return folder.resolve().as_uri()
    return tracking_uri


@contextlib.contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    # MLflow 3 refuses to open its file store unless told to; reading a folder
    # the user names is the point here, so allow it for this call only.
    if not uri.startswith("file:"):
        yield
        return
    before = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = before


def _read(uri: str, experiment: str | None) -> tuple[Any, list[tuple[Any, ...]]]:
    """Read the experiment and each of its ended runs (info, params, tags, metric histories)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    with _file_store_allowed(uri):
        try:
            client = MlflowClient(tracking_uri=uri)
            exp = _experiment(client, experiment)
            found = client.search_runs([exp.experiment_id], max_results=50_000)
            out = []
            for mlrun in sorted(found, key=lambda r: (r.info.start_time or 0, r.info.run_id)):
                if mlrun.info.status not in STATUS:
                    continue
                histories = {
                    key: client.get_metric_history(mlrun.info.run_id, key)
                    for key in sorted(mlrun.data.metrics)
                }
                out.append((mlrun.info, dict(mlrun.data.params), dict(mlrun.data.tags), histories))
        except MlflowException as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"tracking_uri {uri!r}: MLflow cannot read it: {first}") from None
    return exp, out


def _experiment(client: Any, experiment: str | None) -> Any:
    experiments = client.search_experiments()
    if experiment is None:
        with_runs = [e for e in experiments if client.search_runs([e.experiment_id], max_results=1)]
        if len(with_runs) != 1:
            names = sorted(e.name for e in with_runs)
            raise ValueError(
                f"experiment: name one of the experiments with runs ({names}); "
                "there is not exactly one"
            )
        return with_runs[0]
    for exp in experiments:
        if experiment in (exp.name, exp.experiment_id):
            return exp
    names = sorted(e.name for e in experiments)
    raise ValueError(f"experiment {experiment!r} is not in the MLflow store (it has {names})")


def _loss_split(key: str) -> str | None:
    lowered = key.lower()
    if "loss" not in lowered:
        return None
    if "val" in lowered:
        return "validation"
    if "test" in lowered:
        return "test"
    return "train"


def _write(run: Run, info: Any, params: dict, tags: dict, histories: dict) -> None:
    kept = {k: v for k, v in tags.items() if not k.startswith("mlflow.")}
    kept["mlflow.run_id"] = info.run_id
    kept["mlflow.start_time"] = info.start_time
    kept["mlflow.end_time"] = info.end_time
    it = run.iteration(info.run_name or info.run_id, params=params)
    it.start(time=_seconds(info.start_time))
    it.tags = kept
    for key, history in histories.items():
        split = _loss_split(key)
        for point in sorted(history, key=lambda m: (m.step, m.timestamp)):
            if not math.isfinite(point.value):
                continue  # MLflow keeps NaN and inf; runwatch's logged values are finite
            when = point.timestamp / 1000.0
            it.log_metric(key, float(point.value), step=int(point.step), time=when)
            if split is not None:
                it.log_loss(float(point.value), split=split, step=int(point.step), time=when)
    status = STATUS[info.status]
    ended = _seconds(info.end_time)
    if status == "completed":
        it.complete(time=ended)
    elif status == "failed":
        it.fail("the MLflow run FAILED", time=ended)
    else:
        it.cancel(time=ended)


def _seconds(millis: int | None) -> float | None:
    """MLflow's milliseconds since the epoch as seconds (None when MLflow has none: now)."""
    return None if millis is None else millis / 1000.0
