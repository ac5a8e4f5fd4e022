"""The ``RunDetails`` widget: a run's iterations, metrics and charts, live in the notebook.

>>> import runwatch as rw                                   # doctest: +SKIP
>>> run = rw.Run("sweep-1", primary_metric="accuracy")      # doctest: +SKIP
>>> widget = rw.RunDetails(run); widget                     # doctest: +SKIP
>>> widget.selected                                         # doctest: +SKIP
'3'

The front end is ``static/bundle.js``, bundled from ``js/`` by the build. It
goes to the page once per kernel, on a model every RunDetails points to
(``_frontend`` says why). Traits the page syncs are listed in
:data:`._contract.MODEL_TRAITS`.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets

from ._contract import (
    SPLITS,
    Batch,
    RunInfo,
    Snapshot,
    snapshot_from_json,
    snapshot_to_json,
)
from ._frontend import LOADER, FrontEnd, front_end
from ._payload import ENDED as _ENDED
from ._push import Pusher
from ._replay import check_replay_step
from ._samples import SampleGallery, check_thumbnail
from ._thresholds import ExactCounts
from ._thresholds import check as check_threshold

__all__ = ["RunDetails"]

logger = logging.getLogger(__name__)


class RunDetails(SampleGallery, anywidget.AnyWidget):
    """Display a run: iterations table, the selected iteration's metrics, matrix and charts.

    Parameters
    ----------
    run : runwatch.tracking.Run
        The run to show; logged in this kernel or written by another process
        to the same store (both are followed through the store).
    live : bool, default True
        Follow the run as it changes. False shows it as it is now (the
        iterations' details still reach the page a few at a time).
    thumbnail : callable, optional
        A function from a sample id (``it.update(..., sample_ids=...)``) to
        its image: a numpy array, a PIL image or PNG bytes. The samples of
        the clicked confusion-matrix cell and the top losses then show as a
        gallery of thumbnails (at most 96 px, made in this kernel when the
        page shows them). What it fails on is said in the panel.

    Attributes
    ----------
    selected : str or None
        Id of the iteration the detail panels show. Until the user picks one
        (in the page, or by assigning it here), it follows the run's best
        iteration (before any has a primary metric: the newest).
    split : str
        The result set the detail panels show ("train", "validation", "test").
    selected_cell : tuple of (str, str) or None
        The confusion-matrix cell last clicked: (true label, predicted label).
    threshold : float or None
        The score threshold of the matrix, P/R/F1 and curve marks (the
        slider's; set it here too). None: the arg-max rule (detection: the
        engine's ``score_threshold``). Classification: 0 to 1, the shown
        class against the rest; detection: any finite score.
    compared : str or None
        Id of a second iteration shown beside ``selected`` (a shift-click on
        its row, or the "compare with" picker): both metrics columns and their
        difference, overlaid curves, the difference of the row-normalised
        confusion matrices. None (Esc, the clear button) leaves compare mode.
    replay_step : int, float or None
        The step the replay slider under the confusion matrix shows, for an
        iteration updated with ``step=`` (``it.update(..., step=epoch)``):
        its matrix and metrics as they were after that step. None: the
        latest, following new steps while the iteration runs. Set it here
        to one of the shown split's steps; picking another iteration or
        split sets it back to None.
    selected_samples : list
        The ids of that cell's samples in the shown iteration and split (all
        of them, or a uniform sample of 50): set by the widget, observable.
    """

    _esm = LOADER
    # The front end's code, on one model per kernel (``_frontend``).
    _bundle = traitlets.Instance(FrontEnd).tag(sync=True, **ipywidgets.widget_serialization)

    # An int id is taken too (``run.get(...).id``) and kept as text, as the page sends it.
    selected = traitlets.Union(
        [traitlets.Unicode(), traitlets.Int()], default_value=None, allow_none=True
    ).tag(sync=True)
    split = traitlets.Unicode("validation").tag(sync=True)
    selected_cell = traitlets.Tuple(None, allow_none=True).tag(sync=True)
    # Any: the check is ours (traitlets' Float takes True for 1.0).
    threshold = traitlets.Any(None, allow_none=True).tag(sync=True)
    # The counts at `threshold` itself, from the engine (widget/_thresholds.py).
    _threshold_exact = traitlets.Dict().tag(sync=True)
    compared = traitlets.Union(
        [traitlets.Unicode(), traitlets.Int()], default_value=None, allow_none=True
    ).tag(sync=True)
    # Any: the check is ours (a step of the shown split, int or float).
    replay_step = traitlets.Any(None, allow_none=True).tag(sync=True)
    # Plumbing: whether `selected` was set by the automatic selection, and the state.
    _auto_selected = traitlets.Bool(True).tag(sync=True)
    # The widget's id: a view drawn anew (the output updated after a cell)
    # starts from what the user set in the last one (js/memory.ts).
    _uid = traitlets.Unicode().tag(sync=True)
    _snapshot = traitlets.Dict().tag(
        sync=True, to_json=snapshot_to_json, from_json=snapshot_from_json
    )

    def __init__(
        self, run: Any, live: bool = True, thumbnail: Any = None, **kwargs: Any
    ) -> None:
        from runwatch.tracking import Run

        if not isinstance(run, Run):
            raise TypeError(f"run must be a runwatch Run (rw.Run(...)); got {type(run).__name__}.")
        if not isinstance(live, bool):
            raise TypeError(f"live must be True or False; got {live!r}.")
        thumbnails = check_thumbnail(thumbnail)
        self.run = run
        self._setting_auto = False
        # The state is primed before the model exists, so the model opens with
        # every row in it and the first view draws the table at once.
        pusher = Pusher(run, self._send_batch, self._publish, on_run=self._follow)
        pusher.prime()
        self._pusher = pusher
        snapshot = pusher.snapshot(published=True)
        kwargs.setdefault("selected", snapshot["run"]["auto"])
        kwargs.setdefault("_uid", uuid.uuid4().hex)
        kwargs.setdefault("_bundle", front_end())
        super().__init__(_snapshot=snapshot, **kwargs)
        self.observe(self._on_selected, names="selected")
        self.observe(self._replay_latest, names=["selected", "split"])
        self._exact = ExactCounts(run)
        self.observe(self._on_threshold, names=["threshold", "selected", "split"])
        self._on_threshold()
        self.on_msg(self._on_page_message)
        self._start_gallery(thumbnails)
        # Not following, the thread still sends the details left after priming.
        pusher.start(follow=live)

    # ------------------------------------------------------------ checks

    @traitlets.validate("selected")
    def _check_selected(self, proposal: dict[str, Any]) -> str | None:
        value = proposal["value"]
        if value is None:
            return None
        if self._setting_auto:  # the pusher's pick, read from the store
            return str(value)
        return self._iteration_id("selected", value)

    @traitlets.validate("compared")
    def _check_compared(self, proposal: dict[str, Any]) -> str | None:
        value = proposal["value"]
        return None if value is None else self._iteration_id("compared", value)

    def _iteration_id(self, name: str, value: Any) -> str:
        """``value`` as the text id of an iteration of the run; TraitError naming ``name``."""
        text = str(value)
        try:
            known = not isinstance(value, bool) and text.isdigit()
            known = known and self.run.get(int(text)) is not None
        except KeyError:
            known = False
        if not known:
            raise traitlets.TraitError(
                f"{name} must be the id of an iteration of run {self.run.name!r} "
                f"(or None); got {value!r}."
            )
        return text

    @traitlets.validate("split")
    def _check_split(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value not in SPLITS:
            raise traitlets.TraitError(
                f"split must be one of {', '.join(map(repr, SPLITS))}; got {value!r}."
            )
        return value

    @traitlets.validate("threshold")
    def _check_threshold(self, proposal: dict[str, Any]) -> float | None:
        try:
            return check_threshold(self.run.task, proposal["value"])
        except ValueError as e:
            raise traitlets.TraitError(str(e)) from None

    @traitlets.validate("replay_step")
    def _check_replay_step(self, proposal: dict[str, Any]) -> Any:
        try:
            return check_replay_step(self.run, self.selected, self.split, proposal["value"])
        except ValueError as e:
            raise traitlets.TraitError(str(e)) from None

    def _replay_latest(self, change: Any = None) -> None:
        # A step of one iteration's split means nothing for another's.
        self.replay_step = None

    def _on_threshold(self, change: Any = None) -> None:
        self._threshold_exact = self._exact.payload(self.selected, self.split, self.threshold)

    @traitlets.validate("selected_cell")
    def _check_selected_cell(self, proposal: dict[str, Any]) -> tuple[str, str] | None:
        value = proposal["value"]
        if value is None:
            return None
        if len(value) != 2:
            raise traitlets.TraitError(
                "selected_cell must be (true label, predicted label) or None; "
                f"got {len(value)} items."
            )
        return (str(value[0]), str(value[1]))

    # --------------------------------------------------------------- plumbing

    def _send_batch(self, batch: Batch) -> None:
        self.send(batch)

    def _publish(self, snapshot: Snapshot) -> None:
        self._snapshot = dict(snapshot)

    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any = None) -> None:
        # A view saw a gap in the batches (it missed some before it listened):
        # it needs the state as a snapshot, which is no longer refreshed on its own.
        if isinstance(content, dict) and content.get("kind") == "snapshot":
            self._pusher.publish_snapshot(force=True)

    def _follow(self, header: RunInfo) -> None:
        auto = header["auto"]
        if self._auto_selected and auto is not None and auto != self.selected:
            self._setting_auto = True
            try:
                with self.hold_sync():
                    self.selected = auto
                    self._auto_selected = True
                    # One message with both, even when _auto_selected did not
                    # change here: the page may hold a click the kernel has not
                    # read yet (its own copy is False), and must see this move
                    # as automatic, or it would take it for the user's pick.
                    self._states_to_send.add("_auto_selected")
            finally:
                self._setting_auto = False

    def _on_selected(self, change: dict[str, Any]) -> None:
        if not self._setting_auto:
            self._auto_selected = False  # a pick by the page or by user code
        self._pusher.prefer(change["new"])

    def close(self) -> None:
        """Stop following the run and close the widget."""
        pusher = getattr(self, "_pusher", None)  # absent when the constructor refused its input
        if pusher is not None:
            pusher.stop()
        self._unhook()
        super().close()

    # ------------------------------------------------------ static and saved

    def save_html(self, path: Any) -> Path:
        """Write the run, as the store has it now, to one self-contained HTML page.

        The page is the widget itself (its bundle inlined, vega included) on a
        snapshot of the run, with the current ``selected`` and ``split``; it
        works offline (a Content-Security-Policy forbids every request) and
        shows a static summary where scripts do not run.

        Parameters
        ----------
        path : str or path-like
            Where to write the page (folders are created).

        Returns
        -------
        pathlib.Path
            The absolute path written.
        """
        from ._static import build_snapshot, page_html, write_page

        snapshot = build_snapshot(self.run, reuse=self._pusher.snapshot())
        page = page_html(
            snapshot,
            self._bundle.code,
            selected=None if self._auto_selected else self.selected,
            split=self.split,
            auto_selected=self._auto_selected,
        )
        return write_page(path, page)

    def _static_html(self, fresh: bool = False) -> str:
        """The summary: from the widget's own state, or from the store when ``fresh``.

        The state is current to a beat, which is what a display needs. It may
        lack the shown iteration's details (priming leaves them to the first
        beat); the summary then has the table and charts without them, and
        :meth:`_after_cell` replaces it with a ``fresh`` one, read from the
        store, once the cell is done, so a saved notebook carries it all.
        """
        from ._static import summary_html, summary_snapshot

        selected = None if self._auto_selected else self.selected
        if fresh:
            return summary_html(summary_snapshot(self.run, selected), selected, self.split)
        state = self._pusher.snapshot()
        self._static_rows = state["iterations"]
        shown = selected if selected is not None else state["run"]["auto"]
        self._static_partial = shown is not None and shown not in state["details"]
        return summary_html(state, selected, self.split)

    def _repr_mimebundle_(self, fresh: bool = False, **kwargs: Any) -> Any:
        """The widget view plus a static HTML summary (what GitHub and nbviewer show)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data)
        try:
            data["text/html"] = self._static_html(fresh)
        except Exception:  # the summary must never stop the widget from showing
            logger.exception("runwatch: building the static summary failed")
        return data, metadata

    # The summary of a display follows the run: after each cell that changed a
    # run with nothing left running, the display is updated (by its display id),
    # so a saved notebook carries the final state, not the empty run of cell 1.
    _display_id: str | None = None
    _static_seen: Any = None
    _static_partial = False
    _static_rows: list[Any] | None = None

    def _ipython_display_(self, **kwargs: Any) -> None:
        from IPython import get_ipython
        from IPython.display import publish_display_data

        bundle = self._repr_mimebundle_()
        if bundle is None:
            return
        data, metadata = bundle
        if self._display_id is None:
            self._display_id = uuid.uuid4().hex
        publish_display_data(data, metadata, transient={"display_id": self._display_id})
        self._static_seen = self._fingerprint(self._static_rows)  # what it was built from
        if self._static_partial:
            self._static_seen = None  # the summary lacks the details: refresh after the cell
        shell = get_ipython()
        if shell is not None and not getattr(self, "_hooked", False):
            # post_run_cell, not post_execute: the comm package fires the latter
            # after every message from the page too (each click would redraw).
            shell.events.register("post_run_cell", self._after_cell)
            self._hooked = True

    def _unhook(self) -> None:
        if not getattr(self, "_hooked", False):
            return
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            try:
                shell.events.unregister("post_run_cell", self._after_cell)
            except ValueError:
                pass
        self._hooked = False

    def _fingerprint(self, rows: list[Any] | None = None) -> Any:
        from ._payload import iteration_rows

        if rows is None:
            rows = iteration_rows(self.run)
        key = tuple((r["id"], r["status"], r["metric"]) for r in rows)
        return key, all(r["status"] in _ENDED for r in rows)

    def _after_cell(self, result: Any = None) -> None:
        try:
            if self.comm is None:
                return
            # A view opened in a later cell (or redrawn just below) starts from the
            # _snapshot trait: bring it to the run as this cell left it.
            self._pusher.catch_up()
            if self._display_id is None:
                return
            seen = self._fingerprint()
            key, ended = seen
            if not key or not ended or seen == self._static_seen:
                return
            from IPython.display import publish_display_data

            bundle = self._repr_mimebundle_(fresh=True)
            if bundle is None:
                return
            data, metadata = bundle
            publish_display_data(
                data, metadata, transient={"display_id": self._display_id}, update=True
            )
            self._static_seen = seen
        except Exception:
            logger.exception("runwatch: updating the static summary failed")
