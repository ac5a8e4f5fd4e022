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

The code is read once per kernel: after ``npm run build``, restart the kernel
(anywidget's ``ANYWIDGET_HMR=1`` reloads ``widget.js``, not the bundle).
"""

from __future__ import annotations

import threading
from pathlib import Path

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
_lock = threading.Lock()


def front_end() -> FrontEnd:
    """The kernel's one :class:`FrontEnd`, made on first use and again after it was closed."""
    global _shared
    with _lock:
        if _shared is None or _shared.comm is None:  # ipywidgets drops the comm on close()
            if not BUNDLE.is_file():
                raise RuntimeError(
                    f"runwatch's front end is not built ({BUNDLE} is missing): "
                    "run `npm run build` in the source checkout."
                )
            _shared = FrontEnd(code=BUNDLE.read_bytes())
        return _shared
