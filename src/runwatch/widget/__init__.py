"""The ``RunDetails`` widget: a run's iterations, metrics and charts, live in the notebook.

>>> import runwatch as rw                                   # doctest: +SKIP
>>> run = rw.Run("sweep-1", primary_metric="accuracy")      # doctest: +SKIP
>>> widget = rw.RunDetails(run); widget                     # doctest: +SKIP
>>> widget.selected                                         # doctest: +SKIP
'3'

The front end is ``static/widget.js``, bundled from ``js/`` by the build.
Traits the page syncs are listed in :data:`._contract.MODEL_TRAITS`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ._contract import RunInfo, Snapshot
from ._push import Pusher

__all__ = ["RunDetails"]

_BUNDLE = Path(__file__).resolve().parent.parent / "static" / "widget.js"


class RunDetails(anywidget.AnyWidget):
    """Display a run: iterations table, the selected iteration's metrics, matrix and charts.

    Parameters
    ----------
    run : runwatch.tracking.Run
        The run to show; logged in this kernel or written by another process
        to the same store (both are followed through the store).
    live : bool, default True
        Follow the run as it changes. False shows it as it is now.

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
    """

    _esm = _BUNDLE

    selected = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    split = traitlets.Unicode("validation").tag(sync=True)
    selected_cell = traitlets.Tuple(None, allow_none=True).tag(sync=True)
    # Plumbing: whether `selected` was set by the automatic selection, and the state.
    _auto_selected = traitlets.Bool(True).tag(sync=True)
    _snapshot = traitlets.Dict().tag(sync=True)

    def __init__(self, run: Any, live: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self._setting_auto = False
        self.observe(self._on_selected, names="selected")
        self._pusher = Pusher(run, self.send, self._publish, on_run=self._follow)
        self._snapshot = copy.deepcopy(self._pusher.state)  # never the state itself: it mutates
        if live:
            self._pusher.start()
        else:
            from runwatch.tracking.watch import Watcher

            self._pusher.record(Watcher(run._store, run.id).poll())
            self._pusher.flush()
            self._pusher.publish_snapshot(force=True)

    # --------------------------------------------------------------- plumbing

    def _publish(self, snapshot: Snapshot) -> None:
        self._snapshot = dict(snapshot)

    def _follow(self, header: RunInfo) -> None:
        auto = header["auto"]
        if self._auto_selected and auto is not None and auto != self.selected:
            self._setting_auto = True
            try:
                with self.hold_sync():
                    self.selected = auto
                    self._auto_selected = True
            finally:
                self._setting_auto = False

    def _on_selected(self, change: dict[str, Any]) -> None:
        if not self._setting_auto:
            self._auto_selected = False  # a pick by the page or by user code

    def close(self) -> None:
        """Stop following the run and close the widget."""
        self._pusher.stop()
        super().close()
