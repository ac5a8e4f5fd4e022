"""The ``runwatch`` command: list, show, export and import runs of a store.

::

    runwatch [--store STORE] ls
    runwatch [--store STORE] show RUN
    runwatch [--store STORE] export RUN -o FILE
    runwatch [--store STORE] import FILE [--name NAME]

STORE is an SQLite file (a path or ``sqlite:///path``) or a PostgreSQL URL
(``postgresql://user@host:5432/db``); it defaults to ``$RUNWATCH_STORE``, else
``./runwatch.db``. Moving a run between stores is an export from one and an
import into the other. Errors are one line on stderr and exit status 1 (2 for
a bad command line).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runwatch", description="List, show, export and import runwatch runs."
    )
    parser.add_argument(
        "--store",
        default=None,
        metavar="STORE",
        help="an SQLite file or a postgresql://user@host:port/db URL "
        "(default: $RUNWATCH_STORE, else ./runwatch.db)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("ls", help="list the runs of the store")
    show = sub.add_parser("show", help="show a run's iterations")
    show.add_argument("run", metavar="RUN", help="the run's name")
    export = sub.add_parser("export", help="write a run to a JSON document")
    export.add_argument("run", metavar="RUN", help="the run's name")
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write")
    imp = sub.add_parser("import", help="add the run of a JSON document to the store")
    imp.add_argument("file", metavar="FILE", help="a document written by `runwatch export`")
    imp.add_argument("--name", default=None, help="import under this name instead")
    return parser


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _ls(store: Any) -> str:
    from runwatch.tracking import runs

    df = runs(store)
    if df.empty:
        return "no runs"
    headers = ["name", "task", "primary_metric", "goal", "iterations", "status", "best"]
    rows = [[getattr(r, h) for h in headers] for r in df.itertuples(index=False)]
    return _table(headers, rows)


def _show(store: Any, name: str) -> str:
    from runwatch.tracking import open_run

    run = open_run(name, store)
    table = run.iteration_records()
    head = (
        f"run {run.name}  task {run.task}  status {run.status}  "
        f"primary metric {run.primary_metric} ({run.goal})"
    )
    if not table:
        return head + "\nno iterations"
    headers = ["id", "name", "status", "duration", run.primary_metric, "best", "error"]
    rows = [
        [r["id"], r["name"], r["status"], r["duration"], r["metric"], r["best"], r["error"]]
        for r in table
    ]
    return head + "\n" + _table(headers, rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``runwatch`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 on an error (printed to stderr), 2 on a bad command line.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return int(exc.code or 0)
    try:
        if args.command == "ls":
            print(_ls(args.store))
        elif args.command == "show":
            print(_show(args.store, args.run))
        elif args.command == "export":
            from runwatch.tracking import open_run

            open_run(args.run, args.store).export_json(args.output)
            print(f"exported run {args.run} to {args.output}")
        elif args.command == "import":
            from runwatch.tracking import import_json

            run = import_json(args.file, args.store, name=args.name)
            print(f"imported run {run.name} ({len(run.iteration_list())} iterations)")
    except (ValueError, OSError, ImportError) as exc:  # FileNotFoundError, TimeoutError too
        print(f"runwatch: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
