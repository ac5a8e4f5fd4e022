"""Importing runwatch (and its integration modules) loads no framework."""

from __future__ import annotations

import json
import subprocess
import sys

FRAMEWORKS = ["sklearn", "xgboost", "lightgbm", "mlflow", "keras", "lightning", "torch",
              "transformers"]  # fmt: skip


def test_import_runwatch_and_its_integrations_load_no_framework():
    code = (
        "import json, sys, runwatch\n"
        "runwatch.sweep, runwatch.import_mlflow\n"
        "import runwatch.integrations.sklearn, runwatch.integrations.mlflow\n"
        f"print(json.dumps(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
