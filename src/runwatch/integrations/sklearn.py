"""``rw.sweep``: fit scikit-learn estimators into a run, one iteration each.

The AutoML experience on one machine: every estimator (a dict of them, or a
parameter grid over one) is cloned, fitted and scored, and becomes an
iteration holding its parameters, its train / validation / test predictions
(fed to the run's metrics engine), its fit time (the logged metric
``fit_time``, seconds) and its feature importance where it has one
(``feature_importances_``, else ``coef_``). An estimator that raises is a failed
iteration and the sweep goes on; Ctrl-C cancels the running iteration and
stops the sweep.

With ``n_jobs > 1`` the estimators are fitted in that many worker processes
(started with ``spawn``: the estimators and the data must pickle, and a script
must guard its entry point with ``if __name__ == "__main__":``), each logging
into the same store.

With ``cv=`` the validation split is the out-of-fold predictions of the
folds (as ``cross_val_predict`` makes them), and the estimator is then
refitted on the whole training set for the train and test splits and the
feature importance (as ``GridSearchCV(refit=True)`` does).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from runwatch.tracking import Run, open_run

from ._common import check_pair, check_run, class_labels, feed, plain_params

__all__ = ["sweep"]

# One planned fit: (iteration name, unfitted estimator, params to record).
Task = tuple[str, Any, dict[str, Any]]


def sweep(
    run: Run,
    estimators: Any,
    X_train: Any,
    y_train: Any,
    X_valid: Any = None,
    y_valid: Any = None,
    X_test: Any = None,
    y_test: Any = None,
    n_jobs: int = 1,
    cv: Any = None,
) -> Run:
    """Fit each estimator and log it as an iteration of `run`.

    Parameters
    ----------
    run : Run
        Where the iterations go; its task (classification or regression)
        says how predictions are scored.
    estimators : dict or tuple
        ``{name: estimator}``, or ``(estimator, param_grid)`` with
        ``param_grid`` as :class:`sklearn.model_selection.ParameterGrid`
        takes it (a dict of lists, or a list of such dicts): one iteration
        per combination, named after the estimator and its parameters.
    X_train, y_train : array-like
        The data every estimator is fitted on (train split).
    X_valid, y_valid : array-like, optional
        The validation split. Required unless `cv` is given; with `cv` the
        validation split is the folds' out-of-fold predictions instead.
    X_test, y_test : array-like, optional
        The test split.
    n_jobs : int, default 1
        Worker processes fitting estimators at once (-1: one per CPU).
    cv : int, cross-validation generator or iterable, optional
        As scikit-learn's ``cv`` (``check_cv``): stratified k-fold for a
        classifier given an int.

    Returns
    -------
    Run
        `run`, so that ``rw.RunDetails(rw.sweep(...))`` shows it.

    Raises
    ------
    ValueError
        On a bad argument, before anything is written to the store.
    KeyboardInterrupt
        Re-raised after Ctrl-C canceled the running iterations.
    """
    check_run(run)
    if run.task not in ("classification", "regression"):
        raise ValueError(f"run is a {run.task} run; sweep fits classifiers and regressors")
    tasks = _plan(estimators)
    check_pair(X_train, y_train, "X_train", "y_train")
    if cv is None:
        check_pair(X_valid, y_valid, "X_valid", "y_valid")
    elif X_valid is not None or y_valid is not None:
        raise ValueError(
            "X_valid: with cv= the validation split is the out-of-fold predictions; "
            "pass X_valid=None and y_valid=None"
        )
    has_test = check_pair(X_test, y_test, "X_test", "y_test", required=False)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a positive int or -1, got {n_jobs!r}")
    if n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int or -1, got {n_jobs!r}")
    labels = None
    if run.task == "classification":
        ys = [("y_train", y_train), ("y_valid", y_valid), ("y_test", y_test)]
        labels = class_labels(run, [(n, y) for n, y in ys if y is not None])
    if cv is not None:
        _check_cv(cv, X_train, y_train)
    data = {
        "train": (X_train, y_train),
        "validation": None if cv is not None else (X_valid, y_valid),
        "test": (X_test, y_test) if has_test else None,
    }
    workers = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    workers = min(workers, len(tasks))
    if workers <= 1:
        for task in tasks:
            fit_one(run, task, data, labels, cv)
    else:
        _parallel(run, tasks, data, labels, cv, workers)
    run.flush()
    return run


def _plan(estimators: Any) -> list[Task]:
    """Return the fits `estimators` asks for, refusing anything that is not an estimator."""
    if isinstance(estimators, Mapping):
        if not estimators:
            raise ValueError("estimators is empty; give {name: estimator}")
        tasks = []
        for name, est in estimators.items():
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"estimators keys must be non-empty names, got {name!r}")
            _check_estimator(est, f"estimators[{name!r}]")
            tasks.append((name, est, plain_params(est.get_params(deep=False))))
        return tasks
    if isinstance(estimators, tuple) and len(estimators) == 2:
        from sklearn.model_selection import ParameterGrid

        est, grid = estimators
        _check_estimator(est, "estimators[0]")
        try:
            points = list(ParameterGrid(grid))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"estimators[1] must be a parameter grid: {exc}") from None
        valid = est.get_params(deep=True)
        tasks = []
        for point in points:
            unknown = [k for k in point if k not in valid]
            if unknown:
                raise ValueError(
                    f"estimators[1] names {unknown[0]!r}, which {type(est).__name__} does not take"
                )
            shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
            # The grid points share one estimator: each fit clones it with its point set.
            tasks.append((f"{type(est).__name__}({shown})", (est, point), plain_params(point)))
        return tasks
    raise ValueError(
        "estimators must be a dict {name: estimator} or a tuple (estimator, param_grid), "
        f"got {type(estimators).__name__}"
    )


def _check_estimator(est: Any, name: str) -> None:
    if isinstance(est, type):
        raise ValueError(f"{name} is the class {est.__name__}; pass an instance, {est.__name__}()")
    for method in ("fit", "get_params"):
        if not callable(getattr(est, method, None)):
            raise ValueError(
                f"{name} must be a scikit-learn estimator (with fit and get_params), "
                f"got {type(est).__name__}"
            )
    if not callable(getattr(est, "predict", None)):
        raise ValueError(f"{name} ({type(est).__name__}) has no predict method")


def _check_cv(cv: Any, X: Any, y: Any) -> None:
    from sklearn.model_selection import check_cv

    try:
        splitter = check_cv(cv, y, classifier=False)
        splitter.get_n_splits(X, y)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cv must be a number of folds or a splitter: {exc}") from None


def _take(data: Any, rows: np.ndarray) -> Any:
    if hasattr(data, "iloc"):
        return data.iloc[rows]
    if isinstance(data, list):
        data = np.asarray(data)
    return data[rows]


def _unfitted(spec: Any) -> Any:
    from sklearn.base import clone

    if isinstance(spec, tuple):
        est, point = spec
        return clone(est).set_params(**point)
    return clone(spec)


def fit_one(run: Run, task: Task, data: dict[str, Any], labels: Any, cv: Any) -> None:
    """Fit one estimator and log it as an iteration; an exception fails only that iteration."""
    name, spec, params = task
    try:
        with run.iteration(name, params=params) as it:
            model = _unfitted(spec)
            X, y = data["train"]
            if cv is not None:
                _cross_validate(it, model, X, y, labels, cv)
            started = time.perf_counter()
            model.fit(X, y)
            it.log_metric("fit_time", time.perf_counter() - started)
            feed(it, "train", model, X, y, labels)
            for split in ("validation", "test"):
                if data[split] is not None:
                    feed(it, split, model, *data[split], labels)
            _log_importance(it, model, X, labels)
    except Exception:  # the iteration records it as failed; the sweep goes on
        return


def _cross_validate(it: Any, model: Any, X: Any, y: Any, labels: Any, cv: Any) -> None:
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import check_cv

    splitter = check_cv(cv, y, classifier=is_classifier(model))
    for fold, (train_rows, valid_rows) in enumerate(splitter.split(X, y)):
        fold_model = clone(model)
        started = time.perf_counter()
        fold_model.fit(_take(X, train_rows), _take(y, train_rows))
        it.log_metric("fold_fit_time", time.perf_counter() - started, step=fold)
        feed(it, "validation", fold_model, _take(X, valid_rows), _take(y, valid_rows), labels)


def _log_importance(it: Any, model: Any, X: Any, labels: Any) -> None:
    """Log ``feature_importances_`` or ``coef_`` (of a pipeline's last step too)."""
    final = model
    names: list[str] | None = None
    if hasattr(model, "steps") and not _has_importance(model):
        final = model.steps[-1][1]
        try:
            names = [str(n) for n in model[:-1].get_feature_names_out()]
        except Exception:  # a transformer without feature names: x0, x1, ...
            names = None
    if not _has_importance(final):
        return
    if names is None:
        names = _feature_names(final, X)
    importances = getattr(final, "feature_importances_", None)
    per_class = None
    if importances is not None:
        values = np.asarray(importances, dtype=np.float64).ravel()
    else:
        coef = np.atleast_2d(np.asarray(final.coef_, dtype=np.float64))
        classes = getattr(final, "classes_", None)
        if coef.shape[0] == 1:
            values = coef[0]
        else:
            values = np.abs(coef).mean(axis=0)  # one number per feature: mean |coef| over rows
            if classes is not None and len(classes) == coef.shape[0]:
                per_class = {c: row for c, row in zip(_plain(classes), coef)}
    if len(values) != len(names) or not np.all(np.isfinite(values)):
        names = [f"x{i}" for i in range(len(values))]
    if not np.all(np.isfinite(values)):
        return
    it.log_feature_importance(names, values, per_class=per_class)


def _has_importance(model: Any) -> bool:
    return getattr(model, "feature_importances_", None) is not None or hasattr(model, "coef_")


def _plain(values: Any) -> list[Any]:
    from runwatch.tracking._validate import plain_label

    return [plain_label(v) for v in values]


def _feature_names(model: Any, X: Any) -> list[str]:
    columns = getattr(X, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    named = getattr(model, "feature_names_in_", None)
    if named is not None:
        return [str(c) for c in named]
    width = np.shape(X)[1] if len(np.shape(X)) > 1 else 1
    return [f"x{i}" for i in range(width)]


# ------------------------------------------------------------- worker processes


def _parallel(run: Run, tasks: list[Task], data: Any, labels: Any, cv: Any, workers: int) -> None:
    """Fit `tasks` in `workers` spawned processes pulling from one queue."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    for index in range(len(tasks)):
        queue.put(index)
    for _ in range(workers):
        queue.put(None)
    procs = [
        ctx.Process(
            target=_worker,
            args=(run.store, run.name, tasks, data, labels, cv, queue),
            name=f"runwatch-sweep-{k}",
        )
        for k in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        for proc in procs:
            proc.join()
    except KeyboardInterrupt:
        # Ctrl-C in a terminal reaches the workers too; a SIGINT sent to this
        # process alone does not: pass it on so their running iterations cancel.
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGINT)
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
        raise
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"sweep: {len(failed)} worker process(es) died (exit codes {failed})")


def _worker(
    store: str, run_name: str, tasks: list[Task], data: Any, labels: Any, cv: Any, queue: Any
) -> None:
    # The first SIGINT cancels the running iteration; a second one (the
    # terminal's and the parent's both arrive) must not cut that short.
    def once(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, once)
    try:
        run = open_run(run_name, store=store)
        while True:
            index = queue.get()
            if index is None:
                break
            fit_one(run, tasks[index], data, labels, cv)
        run.flush()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return
