"""Helpers that drive a notebook page in JupyterLab or Notebook 7 (both are JupyterLab underneath).

Both front ends share the notebook's DOM (``.jp-Notebook .jp-Cell``) and, with
``expose_app_in_browser``, the application object ``window.jupyterapp``: the
helpers use only those, so one test body works in either.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CELLS = ".jp-Notebook .jp-Cell"
#: A stack frame in JupyterLab's or Notebook 7's own bundles.
_HOST_CODE = re.compile(r"\s*at .*https?://[^/]+/static/(notebook|lab)/")


def _top_frame(stack: str) -> str:
    """The first "at ..." line of a JavaScript stack ("" when it has none)."""
    return next((line for line in stack.splitlines() if line.lstrip().startswith("at ")), "")


def open_notebook(page: Any, url: str) -> None:
    """Open the notebook at `url` and wait until its kernel is idle."""
    page.goto(url)
    page.wait_for_selector(CELLS, timeout=60_000)
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    page.wait_for_timeout(500)  # not for correctness: gives a kernel dialog time to show
    if accept.count():
        accept.first.click()
    # The current notebook's kernel, read from the app (JupyterLab's status bar and
    # Notebook 7's toolbar show it differently).
    page.wait_for_function(
        "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel"
        "?.status === 'idle'",
        timeout=60_000,
    )


def run_cell(page: Any, index: int) -> None:
    """Select cell `index` and run it; retried once if the kernel was not ready to take it."""
    cell = page.locator(CELLS).nth(index)
    for _ in range(2):
        cell.locator(".jp-InputPrompt").click()
        # Not awaited: the command's promise resolves only when the cell ends.
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-cell'); }")
        try:
            page.wait_for_function(
                "(i) => !document.querySelectorAll('.jp-Notebook .jp-Cell')[i]"
                ".querySelector('.jp-InputPrompt').textContent.includes('[ ]')",
                arg=index,
                timeout=10_000,
            )
            return
        except Exception:
            continue
    raise AssertionError(f"cell {index} did not start")


def prompt(page: Any, index: int) -> str:
    """Cell `index`'s input prompt ("[*]:" while it runs)."""
    # textContent, not inner_text: the prompt is read even when scrolled out of view.
    return page.evaluate(
        "(i) => document.querySelectorAll('.jp-Notebook .jp-Cell')[i]"
        ".querySelector('.jp-InputPrompt').textContent",
        index,
    )


def wait_cell_done(page: Any, index: int, timeout: float = 60_000) -> None:
    """Wait until cell `index` has run (its prompt has a number, not "*")."""
    page.wait_for_function(
        "(i) => /\\[\\d+\\]/.test(document.querySelectorAll('.jp-Notebook .jp-Cell')[i]"
        ".querySelector('.jp-InputPrompt').textContent)",
        arg=index,
        timeout=timeout,
    )


def cell_output(page: Any, index: int, timeout: float = 30_000) -> str:
    """The text of cell `index`'s first output, once there is one."""
    out = page.locator(CELLS).nth(index).locator(".jp-OutputArea-output").first
    out.wait_for(timeout=timeout)
    return out.inner_text()


def cell_json(page: Any, index: int) -> Any:
    """Run cell `index`, wait for it, and read its output as JSON (what Python says)."""
    run_cell(page, index)
    wait_cell_done(page, index)
    return json.loads(cell_output(page, index))


def texts(locator: Any) -> list[str]:
    """The text of every element (SVG text has no inner_text)."""
    return locator.evaluate_all("(els) => els.map((e) => e.textContent)")


def detail_title_is(page: Any, title: str, root: int = 0, timeout: float = 5_000) -> None:
    """Wait until the detail panel of the `root`-th widget shows `title`."""
    page.wait_for_function(
        "([t, r]) => document.querySelectorAll('.rw-root')[r]"
        "?.querySelector('.rw-detail-title')?.textContent === t",
        arg=[title, root],
        timeout=timeout,
    )


class PageLog:
    """What a page did: every request's URL, dialogs (dismissed), console lines and errors."""

    def __init__(self, page: Any) -> None:
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", self._dialog)
        #: Uncaught errors: (message, stack).
        self.errors: list[tuple[str, str]] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", self._error)

    def _error(self, error: Any) -> None:
        self.console.append(f"pageerror: {error}")
        self.errors.append((error.message, error.stack or ""))

    def widget_errors(self) -> list[str]:
        """Uncaught errors, but those thrown in the notebook front end's own code.

        Notebook 7.6.5 throws one on opening any notebook, runwatch or not
        ("Cannot read properties of undefined (reading 'schema')", from
        /static/notebook/): it is not the widget's to answer for.
        """
        return [m for m, stack in self.errors if not _HOST_CODE.match(_top_frame(stack))]

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_offline(self) -> None:
        """Nothing but the Jupyter server on 127.0.0.1 was asked for anything."""
        web = [u for u in self.requests if urlparse(u).scheme in ("http", "https", "ws", "wss")]
        hosts = {urlparse(u).hostname for u in web}
        assert hosts == {"127.0.0.1"}, sorted(u for u in self.requests if "127.0.0.1" not in u)


@contextmanager
def kept_on_failure(page: Any, log: PageLog, path: Path) -> Iterator[None]:
    """Run a test's body; if it fails, keep ``<path>.png`` (the whole page) and its console.

    The page is closed either way.
    """
    try:
        yield
    except Exception:
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{path}.png", full_page=True)
        Path(f"{path}-console.txt").write_text("\n".join(log.console))
        raise
    finally:
        page.close()


def header_fits(page: Any, root: int = 0) -> None:
    """The `root`-th widget's header takes one line and shows every item whole."""
    m = (
        page.locator(".rw-header")
        .nth(root)
        .evaluate(
            """(h) => {
          const items = [...h.children];
          return {
            height: h.getBoundingClientRect().height,
            line: Math.max(...items.map((c) => c.getBoundingClientRect().height)),
            cut: [...h.querySelectorAll("*")]
              .filter((c) => c.scrollWidth > c.clientWidth)
              .map((c) => c.textContent),
            hidden: h.scrollWidth - h.clientWidth,
          };
        }"""
        )
    )
    # One line: the header is as tall as its tallest item (two lines would be twice that).
    assert m["height"] <= m["line"] + 1, m
    assert m["cut"] == [] and m["hidden"] <= 0, m


def matrix_numbers(root: Any) -> list[list[float]]:
    """The confusion matrix the widget `root` draws: the numbers of its cells, row by row."""
    rows = root.locator(".rw-matrix tbody tr").evaluate_all(
        "(trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))"
    )
    return [[float(x.replace(",", "")) for x in row] for row in rows]


def drag_slider(page: Any, slider: Any, fraction: float) -> None:
    """Drag a range input's thumb with the mouse from where it is to `fraction` of its track."""
    box = slider.bounding_box()
    value = float(slider.evaluate("(s) => Number(s.value) / Math.max(1, Number(s.max))"))
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 8 + value * (box["width"] - 16), y)
    page.mouse.down()
    target = box["x"] + 8 + fraction * (box["width"] - 16)
    page.mouse.move(target, y, steps=12)
    page.mouse.up()


def click_matrix_cell(root: Any, cell: list[str]) -> None:
    """Click the matrix cell of the widget `root` whose true and predicted labels are `cell`."""
    root.evaluate(
        """(r, [t, p]) => {
          for (const td of r.querySelectorAll('.rw-matrix td.rw-clickable')) {
            const [a, b] = td.title.split('\\n');
            if (a === 'true: ' + t && b === 'predicted: ' + p) { td.click(); return; }
          }
          throw new Error('no such cell');
        }""",
        cell,
    )


def time_cell_clicks(page: Any, root: Any, cells: list[list[str]], clicks: int = 10) -> list[float]:
    """Milliseconds from a click on a matrix cell (taking `cells` in turn) to its samples shown.

    Shown: the panel names the cell, lists its samples and every thumbnail
    has loaded.
    """
    took = []
    for k in range(clicks):
        cell = cells[k % len(cells)]
        start = time.perf_counter()
        click_matrix_cell(root, cell)
        page.wait_for_function(
            """([t, p]) => {
              const box = document.querySelector('.rw-cell-samples');
              const head = box.querySelector('.rw-muted');
              return head !== null && head.textContent.startsWith(`true ${t}, predicted ${p}:`)
                && box.querySelectorAll('.rw-sample').length > 0
                && box.querySelectorAll('.rw-thumb-waiting').length === 0
                && [...box.querySelectorAll('img.rw-thumb')].every((i) => i.complete);
            }""",
            arg=cell,
            timeout=15_000,
        )
        took.append(1000 * (time.perf_counter() - start))
    return took
