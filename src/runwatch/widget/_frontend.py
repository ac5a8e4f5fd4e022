"""The front end's code, sent to the page once per kernel: one model every RunDetails points to.

anywidget sends a widget's ``_esm`` with every widget and the page imports it
anew each time. The bundle (``static/bundle.js``, vega included) is about
900 KB: as the ``_esm`` of every RunDetails it cost about 100 ms per widget
shown (the kernel's JSON, the transfer, the page's parsing), and as bytes on
every RunDetails still about 45 ms of transfer. So the code lives on one
:class:`FrontEnd` model per kernel, as bytes (a binary buffer, not JSON);
each RunDetails holds a reference to it (``_bundle``), and its ``_esm`` is
``static/widget.js``, a few lines that fetch that model through the page's
widget manager (``model.widget_manager.get_model``, part of anywidget's model
interface) and import the code once per page. A page opened later, or
reloaded, gets the model like any other widget model of the kernel.

"Per kernel" means per set of pages a comm reaches. ``marimo run`` serves
each viewer (and each reload) a session of its own, as threads of one
process, and a comm opened in one session is seen by that session's page
only: each session gets a FrontEnd of its own (:func:`_comm_scope`).

The code is read once per kernel: after ``npm run build``, restart the kernel
(anywidget's ``ANYWIDGET_HMR=1`` reloads ``widget.js``, not the bundle).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

STATIC = Path(__file__).resolve().parent.parent / "static"
#: What RunDetails's ``_esm`` holds: it imports the bundle (scripts/build-widget.mjs).
LOADER = STATIC / "widget.js"
#: The front end itself, bundled from ``js/`` by the build.
BUNDLE = STATIC / "bundle.js"


class FrontEnd(anywidget.AnyWidget):
    """The bundle's code as a widget model; never displayed, only pointed to."""

    _esm = "export default { render() {} };"
    code = traitlets.Bytes().tag(sync=True)


_shared: FrontEnd | None = None
_shared_scope: Any = None
_lock = threading.Lock()


def _comm_scope() -> Any:
    """Whose pages a comm opened now reaches: marimo's session, else None (the kernel's)."""
    if "marimo" not in sys.modules:
        return None
    try:
        from marimo._runtime.context import safe_get_context
    except ImportError:  # private API; without it, one model per process as in Jupyter
        return None
    ctx = safe_get_context()
    # MarimoComm sends through the stream of the session it was opened in.
    return None if ctx is None else getattr(ctx, "stream", ctx)


def front_end() -> FrontEnd:
    """The kernel's (marimo: the session's) :class:`FrontEnd`, made on first use and after close."""
    global _shared, _shared_scope
    scope = _comm_scope()
    with _lock:
        # ipywidgets drops the comm on close().
        if _shared is None or _shared.comm is None or _shared_scope is not scope:
            if not BUNDLE.is_file():
                raise RuntimeError(
                    f"runwatch's front end is not built ({BUNDLE} is missing): "
                    "run `npm run build` in the source checkout."
                )
            _shared = FrontEnd(code=BUNDLE.read_bytes())
            _shared_scope = scope
        return _shared
