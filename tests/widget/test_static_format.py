"""Numbers of the static summary: the same per-column rule as the page (js/number_columns.json)."""

from __future__ import annotations

import json
import math
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from runwatch.widget._static_format import ColumnFormat, column_format, fmt, fmt_column

ROOT = Path(__file__).resolve().parents[2]
CASES = json.loads((ROOT / "js" / "number_columns.json").read_text("utf-8"))["cases"]

#: JSON has no NaN, infinities or -0: the shared cases carry them as strings.
SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}


@pytest.mark.parametrize("case", CASES, ids=[c["why"] for c in CASES])
def test_a_column_prints_as_the_page_prints_it(case):
    values = [SPECIAL[v] if isinstance(v, str) else v for v in case["values"]]
    assert fmt_column(values, counts=case["counts"]) == case["expected"]


def test_numpy_numbers_print_as_floats_do():
    assert fmt_column([np.float32(0.5), np.int64(1)]) == ["0.5000", "1.0000"]
    assert fmt_column([np.int64(4), np.int64(7)], counts=True) == ["4", "7"]


def test_one_format_per_column_and_a_lone_value_as_a_column_of_one():
    assert column_format([0.9143, 1.0, 0.0]) == ColumnFormat(4, False)
    assert column_format([3, 7], counts=True) == ColumnFormat(0, True)
    assert fmt(0.98766) == "0.9877"
    assert fmt(1.0) == "1.000"
    assert fmt(None) == "\u2014"


def _random_columns(n: int, seed: int) -> list[dict]:
    """Columns of what the rule tells apart: exact ties, whole numbers, tiny, huge, missing."""
    rng = random.Random(seed)
    columns = []
    for _ in range(n):
        values: list[float | None] = []
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.05:
                values.append(None)
            elif r < 0.15:
                values.append(float(rng.randint(0, 2000)))
            elif r < 0.25:  # sixteenths: exact binary ties at the last decimal
                values.append(rng.choice([1, -1]) * rng.randint(0, 64) / 16)
            elif r < 0.35:
                values.append(round(rng.random(), rng.randint(1, 5)))
            else:
                values.append(rng.choice([1, -1]) * 10 ** rng.uniform(-5, 8))
        columns.append({"values": values, "counts": rng.random() < 0.3})
    return columns


def test_the_page_and_the_summary_print_random_columns_alike(tmp_path):
    # js/format.ts bundled and run by node (both are needed to build the widget).
    bundle = tmp_path / "format.mjs"
    subprocess.run(
        [
            str(ROOT / "node_modules" / ".bin" / "esbuild"),
            str(ROOT / "js" / "format.ts"),
            "--format=esm",
            f"--outfile={bundle}",
            "--log-level=warning",
        ],
        check=True,
    )
    columns = _random_columns(3000, seed=12)
    (tmp_path / "columns.json").write_text(json.dumps(columns))
    script = tmp_path / "print.mjs"
    script.write_text(
        f"import {{ formatColumn }} from {json.dumps(str(bundle))};\n"
        "import { readFileSync } from 'node:fs';\n"
        f"const columns = JSON.parse(readFileSync({json.dumps(str(tmp_path / 'columns.json'))}));\n"
        "console.log(JSON.stringify(columns.map((c) => formatColumn(c.values, c.counts))));\n"
    )
    page = json.loads(
        subprocess.run(["node", str(script)], check=True, capture_output=True, text=True).stdout
    )
    summary = [fmt_column(c["values"], counts=c["counts"]) for c in columns]
    assert [i for i, (a, b) in enumerate(zip(page, summary)) if a != b] == []
    assert len(page) == len(columns)
