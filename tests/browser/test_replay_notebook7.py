"""The replay slider in Notebook 7 (``jupyter notebook``): the JupyterLab check, on its page.

Moving the slider (read back in Python), setting ``replay_step`` from Python,
"Δ vs best" against views.replay, and the slider growing while a loop logs
new steps (``test_replay_jupyterlab.check_replay``).
"""

from __future__ import annotations

import pytest

from .test_replay_jupyterlab import check_replay

pytestmark = pytest.mark.browser


def test_replay_slider_and_python_agree_in_notebook7(notebook7, browser):
    check_replay(notebook7, browser, "replay-nb7")
