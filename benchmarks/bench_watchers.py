"""Many watchers: 20 follower processes follow one run while a writer logs 100 points a second.

For each store (SQLite file; PostgreSQL database on a throw-away server this
script starts, as the tests do, unless ``--url`` names one) and for 0 and
``--watchers`` followers:

- the followers are processes, each ``open_run(...).on_change(callback,
  interval=0.2, replay=False)`` (SQLite: a poll every 0.2 s; PostgreSQL: woken
  by each commit's NOTIFY), started and subscribed before the writer starts;
- the writer is another process: one iteration, ``it.log_loss`` at ``--rate``
  points a second for ``--seconds``, each call timed on the training thread
  (``perf_counter_ns`` around the call); its background thread commits as usual;
- each follower records, per point, the lag from the log call (the point's
  ``time``) to its callback, and counts the points it received (all of them,
  or the run lost some).

Prints, per store: the log call's p50 / p95 / max with 0 and with N watchers
and their ratio (goal: within 10%), the writer's commit p50 / p95 (the
background thread's transaction), and each follower's lag p95 (median and
worst of the followers) and the points each saw.

Run: ``python benchmarks/bench_watchers.py [--watchers 20] [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

FOLLOWER = """
import json, sys, threading, time
from runwatch.tracking import open_run
store, out = sys.argv[1], sys.argv[2]
lags, lock = [], threading.Lock()
def seen(change):
    now = time.time()
    with lock:
        lags.extend(now - p.time for p in change.points if p.kind == "loss")
sub = open_run("watched", store).on_change(seen, interval=0.2, replay=False)
print("ready", flush=True)
sys.stdin.read()  # until the bench closes our stdin
sub.cancel()
with open(out, "w") as f:
    json.dump({"lags": lags}, f)
"""

WRITER = """
import json, sys, time
from runwatch.tracking import open_run
from runwatch.tracking import writer as writer_module
store, out, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
commits = []
flush = writer_module.Writer._flush
def timed(self, force=False):
    t0 = time.perf_counter_ns()
    flush(self, force)
    commits.append(time.perf_counter_ns() - t0)
writer_module.Writer._flush = timed
run = open_run("watched", store)
it = run.iteration("loop")
it.start()
n = int(rate * seconds)
calls = []
t_start = time.perf_counter()
clock = time.perf_counter_ns
for i in range(n):
    due = t_start + i / rate
    pause = due - time.perf_counter()
    if pause > 0:
        time.sleep(pause)
    t0 = clock()
    it.log_loss(0.5, step=i)
    calls.append(clock() - t0)
it.complete()
run.flush()
with open(out, "w") as f:
    json.dump({"calls": calls, "commits": [c for c in commits if c > 50_000]}, f)
"""


def pct(values: list[float], q: float) -> float:
    """The `q`-th percentile of `values` (numpy's linear rule)."""
    return float(np.percentile(values, q)) if len(values) else float("nan")


def one_round(store: str, watchers: int, rate: float, seconds: float) -> dict:
    """Followers subscribe, the writer logs; return the writer's and followers' figures."""
    from runwatch.tracking import Run
    from runwatch.tracking.store import Store

    Run("watched", store=store)
    Store.open(store).close()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    tmp = tempfile.mkdtemp()
    followers = []
    for k in range(watchers):
        out = os.path.join(tmp, f"follower-{k}.json")
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(FOLLOWER), store, out],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        followers.append((proc, out))
    for proc, _ in followers:
        assert proc.stdout.readline() == "ready\n", "a follower did not start"
    out = os.path.join(tmp, "writer.json")
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WRITER), store, out, str(rate), str(seconds)],
        check=True,
        env=env,
    )
    time.sleep(2.0)  # the last commit reaches every follower
    lags = []
    for proc, path in followers:
        proc.stdin.close()
        proc.wait(timeout=60)
        with open(path) as f:
            lags.append(json.load(f)["lags"])
    with open(out) as f:
        written = json.load(f)
    return {"calls": written["calls"], "commits": written["commits"], "lags": lags}


def report(name: str, alone: dict, watched: dict, watchers: int, n_points: int) -> None:
    """Print one store's figures."""
    def calls(r: dict) -> str:
        c = np.array(r["calls"]) / 1000
        return f"p50 {pct(c, 50):.2f} µs, p95 {pct(c, 95):.2f} µs, max {c.max():.1f} µs"

    def commits(r: dict) -> str:
        c = np.array(r["commits"]) / 1e6
        return f"p50 {pct(c, 50):.2f} ms, p95 {pct(c, 95):.2f} ms ({len(c)} commits)"

    ratio50 = pct(watched["calls"], 50) / pct(alone["calls"], 50)
    ratio95 = pct(watched["calls"], 95) / pct(alone["calls"], 95)
    print(f"\n{name}")
    print(f"  log_loss, 0 watchers:  {calls(alone)}")
    print(f"  log_loss, {watchers} watchers: {calls(watched)}")
    print(f"  ratio with / without: p50 {ratio50:.2f}x, p95 {ratio95:.2f}x (goal <= 1.10x)")
    print(f"  writer commits, 0 watchers:  {commits(alone)}")
    print(f"  writer commits, {watchers} watchers: {commits(watched)}")
    if watched["lags"]:
        p95s = [pct(lag, 95) * 1000 for lag in watched["lags"]]
        p50s = [pct(lag, 50) * 1000 for lag in watched["lags"]]
        seen = [len(lag) for lag in watched["lags"]]
        worst = max(max(lag) for lag in watched["lags"] if lag) * 1000
        print(
            f"  follower lag p95: median {np.median(p95s):.0f} ms, worst {max(p95s):.0f} ms "
            f"(p50: median {np.median(p50s):.0f} ms); max {worst:.0f} ms"
        )
        print(f"  points seen per follower: min {min(seen)}, max {max(seen)} of {n_points}")


def new_schema(url: str) -> str:
    """A new schema in the database at `url`; the URL of a store in it."""
    import psycopg

    name = f"bench_watchers_{os.getpid()}_{time.time_ns()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"


def main() -> None:
    """Run both stores with 0 and N watchers and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument(
        "--url", default=None, help="a PostgreSQL database to make two schemas in (default: "
        "a throw-away server, as the tests start)"
    )
    args = parser.parse_args()
    n_points = int(args.rate * args.seconds)
    print(f"load average at start: {os.getloadavg()}")
    stores = args.stores.split(",")
    if "sqlite" in stores:
        tmp = tempfile.mkdtemp()
        alone = one_round(os.path.join(tmp, "alone.db"), 0, args.rate, args.seconds)
        watched = one_round(os.path.join(tmp, "watched.db"), args.watchers, args.rate, args.seconds)
        report("SQLite", alone, watched, args.watchers, n_points)
    if "postgresql" in stores:
        if args.url:
            alone = one_round(new_schema(args.url), 0, args.rate, args.seconds)
            watched = one_round(new_schema(args.url), args.watchers, args.rate, args.seconds)
        else:
            from tests._postgres import postgres_server

            with postgres_server() as server:
                alone = one_round(server.new_schema(), 0, args.rate, args.seconds)
                watched = one_round(server.new_schema(), args.watchers, args.rate, args.seconds)
        report("PostgreSQL", alone, watched, args.watchers, n_points)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
