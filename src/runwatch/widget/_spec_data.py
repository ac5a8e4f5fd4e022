"""Chart specs made small for the wire: their inline data rounded, and carried as CSV text.

Every finished iteration's details hold a dozen chart specs and the page keeps
them all, so the rows inside them are what the details weigh. Both functions
change a spec in place and leave everything but its data sets as it was;
any renderer draws the result as before.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any


def csv_data(spec: dict[str, Any]) -> dict[str, Any]:
    """Carry a spec's inline data sets as CSV text, with the columns' types (in place).

    Valid Vega-Lite (``{"values": "<csv>", "format": {"type": "csv", "parse":
    ...}}``), drawn as before by any renderer, at a third of the JSON size:
    a record's field names are not repeated on every row. Numbers and
    booleans are declared in ``parse`` (None becomes an empty field, read back
    as null); text is quoted as RFC 4180 says, so a label with commas, quotes
    or newlines arrives unchanged, and stays data.
    """
    for holder in [spec, *spec.get("layer", [])]:
        data = holder.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("values"), list):
            continue
        rows = data["values"]
        if not rows or not all(isinstance(r, dict) for r in rows):
            continue
        fields = list(dict.fromkeys(k for r in rows for k in r))
        parse: dict[str, str] = {}
        for f in fields:
            present = [r.get(f) for r in rows if r.get(f) is not None]
            if present and all(isinstance(v, bool) for v in present):
                parse[f] = "boolean"
            elif present and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in present
            ):
                parse[f] = "number"
            elif not all(isinstance(v, str) for v in present):
                break  # nested values: leave this data set as JSON
        else:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(fields)
            for r in rows:
                writer.writerow(["" if r.get(f) is None else _csv_text(r.get(f)) for f in fields])
            data["values"] = out.getvalue()
            data["format"] = {"type": "csv", "parse": parse}
    return spec


def _csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def round_data(spec: dict[str, Any], digits: int = 4) -> dict[str, Any]:
    """Round the floats of a spec's inline data sets to ``digits`` significant digits (in place).

    Curves drawn a few hundred pixels wide need no more; it halves the payload.
    """
    tables = list(spec.get("datasets", {}).values())
    for holder in [spec, *spec.get("layer", [])]:
        data = holder.get("data")
        if isinstance(data, dict) and isinstance(data.get("values"), list):
            tables.append(data["values"])
    for values in tables:
        for row in values:
            if not isinstance(row, dict):
                continue
            for key, value in row.items():
                if isinstance(value, float) and value != 0.0 and math.isfinite(value):
                    row[key] = float(f"{value:.{digits}g}")
    return spec
