"""Starting a notebook server for a browser session: the tests' fixtures and bench_widget.py.

One launcher starts either Jupyter front end on 127.0.0.1 with a fixed token:
JupyterLab (``jupyter lab``) or Notebook 7 (``jupyter notebook``). Both are
built from JupyterLab's extensions, so the same settings apply; only the
traitlets class that takes the settings folder and the URL of a notebook
differ. The other serves a marimo app (``marimo run``) the same way.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: Per front end: the configurable app class (settings flags) and a notebook's URL path.
#: JupyterLab opens each notebook in a workspace of its own name: the default workspace
#: would restore the notebooks of earlier tests as hidden tabs (their cells in the DOM).
APPS = {
    "lab": ("LabApp", "/lab/workspaces/{stem}/tree/{name}"),
    "notebook": ("JupyterNotebookApp", "/notebooks/{name}"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Jupyter:
    """A running Jupyter server: its front end ("lab" or "notebook"), base URL, token, folder."""

    app: str
    url: str
    token: str
    root: Path

    def notebook_url(self, name: str) -> str:
        path = APPS[self.app][1].format(name=name, stem=Path(name).stem)
        return f"{self.url}{path}?token={self.token}"


def write_settings(settings: Path) -> None:
    """User settings both front ends read: no news toast, every cell kept in the DOM."""
    # No "official Jupyter news?" toast over the screenshots.
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Keep every cell in the DOM: with the default windowing (JupyterLab's and Notebook
    # 7's) a cell scrolled out of view (the widget is tall) loses its rendered prompt,
    # and "[*]" reads "".
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    """Wait until `url` answers (60 s at most); the server's log if it died or never did."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text()) from None
            time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes], log: IO[str]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@contextmanager
def start_jupyter(app: str, root: Path) -> Iterator[Jupyter]:
    """Run ``jupyter <app>`` in `root` for the ``with`` block (tests' fixtures, bench_widget.py)."""
    cls = APPS[app][0]
    settings = root / ".settings"
    write_settings(settings)
    port, token = free_port(), secrets.token_hex(16)
    log_path = root / "jupyter.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed in the finally)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            app,
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--ServerApp.token={token}",
            "--ServerApp.password=",
            "--allow-root",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
            f"--{cls}.user_settings_dir={settings}",
            f"--{cls}.workspaces_dir={root / '.ws'}",
            f"--{cls}.expose_app_in_browser=True",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, f"{url}/api/status?token={token}", log_path)
        yield Jupyter(app, url, token, root)
    finally:
        _stop(proc, log)


@dataclass
class Marimo:
    """A running ``marimo run`` server: its base URL and token."""

    url: str
    token: str

    def page_url(self) -> str:
        """The app's page; each visit is a session of its own (the app runs anew)."""
        return f"{self.url}/?access_token={self.token}"


@contextmanager
def start_marimo(app_py: Path) -> Iterator[Marimo]:
    """Serve the marimo app `app_py` (``marimo run``, read-only) for the ``with`` block.

    It runs in the app's folder, with a config folder of its own there (no
    user settings) and no update check (no traffic beyond 127.0.0.1).
    """
    root = app_py.parent
    port, token = free_port(), secrets.token_hex(16)
    log_path = root / "marimo.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed in _stop)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marimo",
            "run",
            app_py.name,
            "--headless",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--token-password={token}",
            "--no-sandbox",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        env={
            **os.environ,
            "MARIMO_SKIP_UPDATE_CHECK": "1",
            "XDG_CONFIG_HOME": str(root / ".config"),
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, f"{url}/health", log_path)
        yield Marimo(url, token)
    finally:
        _stop(proc, log)


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells for the venv's python3 kernel (no kernel dialog)."""
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))
