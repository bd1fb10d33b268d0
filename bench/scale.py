"""Scale benchmark: the read-side CLI over a run database holding 10,000 devices.

Builds a database the way the recorder callback fills it (through the recorder API,
``hib_orchestrator.recording.Recorder``: runs, plays, tasks, task results, host results, config
versions), with DEVICES devices and RUNS nightly runs (started one day apart):

* each run: one ``device_config`` result per device (about 1% failed with an error code,
  0.5% unreachable, CHANGED devices changed, the rest ok) and one ``config_commit`` result
  naming the changed devices (-> ``config_versions`` rows); the first run changes every device.

Then times, as subprocess CLI calls (what a user waits for, Python start-up included), the
minimum, median and spread of ``--repeats`` calls each (the minimum is the figure the targets
are read on: on a shared 2-core machine it is the call nothing else disturbed):

  hib hosts --json, hib hosts (table), hib hosts --stale 24h --json,
  hib runs --json, hib runs (table), hib runs show latest --json, hib runs show latest (table),
  hib history HOST --json and (table) (a device with many versions).

Tables of more than 200 rows print as plain aligned text (docs/recording.md), smaller ones
through rich. On SQLite the plain forms of these commands take the light read path
(``cli/quick.py`` over ``recording/sqlite_reads.py``: no typer, no SQLAlchemy); on PostgreSQL
they go through typer and SQLAlchemy. Targets (issue 16): each read command < 0.25 s on 10,000
devices, ``hib --help`` < 0.15 s.

SQLite by default plus a throwaway PostgreSQL cluster when installed (``--no-postgres`` skips
it). ``hib history`` answers from ``config_versions`` and never walks git, so no git store is
built here; ``bench/configstore_scale.py`` measures the store itself at 10,000 devices.

Usage:  .venv/bin/python bench/scale.py [--devices 10000] [--runs 30] [--repeats 15]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BIN,
    ROOT,
    Sample,
    banner,
    bench_env,
    measure,
    med,
    postgres,
    print_table,
    scratch,
    spread,
)

TARGET_S = 0.25
HELP_TARGET_S = 0.15


def populate(env: dict[str, str], devices: int, runs: int, changed: int) -> tuple[float, str]:
    """Fill the database named by ``env`` through the recorder API; (seconds, busiest host)."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("HIB_")})
    if "HIB_DB_URL" not in env:
        os.environ.pop("HIB_DB_URL", None)
    try:
        from sqlalchemy import update

        from hib_orchestrator.db.models import Run
        from hib_orchestrator.recording import Recorder, open_engine

        engine = open_engine()
        hosts = [f"ios-{i:05d}" for i in range(devices)]
        rng = random.Random(7)
        busiest = hosts[3]
        t0 = time.perf_counter()
        start = datetime.now(UTC) - timedelta(days=runs)
        for r in range(runs):
            rec = Recorder(engine)
            run_id = rec.start_run("playbooks/backup.yml", ansible_version="2.19.14")
            rec.play_start("Back up network device configurations")
            rec.task_start(f"t{r}a", "Fetch, filter, mask and stage each device config",
                           "hib.orchestrator.device_config")
            changed_now = set(hosts) if r == 0 else {busiest, *rng.sample(hosts, changed)}
            at = start + timedelta(days=r, minutes=5)
            for h in hosts:
                roll = rng.random()
                if roll < 0.01:
                    rec.result(f"t{r}a", h, "failed",
                               {"hib_kind": "device", "failed": True, "error_code": "TIMEOUT",
                                "msg": f"{h}: no prompt within 30 s", "attempts": 3,
                                "duration_s": 95.0}, seconds=95.0, at=at)
                    changed_now.discard(h)
                    continue
                if roll < 0.015:
                    rec.result(f"t{r}a", h, "unreachable",
                               {"msg": f"{h}: connection refused", "error_code": "UNREACHABLE",
                                "unreachable": True}, seconds=1.0, at=at)
                    changed_now.discard(h)
                    continue
                sha = hashlib.sha256(f"{h}-{r if h in changed_now else 0}".encode()).hexdigest()
                rec.result(f"t{r}a", h, "ok",
                           {"hib_kind": "device", "changed": h in changed_now, "sha256": sha,
                            "size_bytes": 9000 + len(h), "attempts": 1, "duration_s": 0.5},
                           seconds=0.5, at=at)
            rec.task_start(f"t{r}b", "Commit the run's changed configs",
                           "hib.orchestrator.config_commit")
            commit = hashlib.sha1(f"commit-{r}".encode()).hexdigest()
            rec.result(f"t{r}b", hosts[0], "ok",
                       {"hib_kind": "commit", "changed": True, "commit": commit,
                        "hosts": sorted(changed_now), "run_id": run_id}, seconds=2.0, at=at)
            rec.finish("failed")
            with engine.begin() as conn:
                conn.execute(update(Run).where(Run.id == run_id).values(
                    started_at=start + timedelta(days=r),
                    finished_at=start + timedelta(days=r, minutes=6)))
            print(f"  run {r + 1}/{runs} recorded ({time.perf_counter() - t0:.0f} s)", flush=True)
        engine.dispose()
        return time.perf_counter() - t0, busiest
    finally:
        os.environ.clear()
        os.environ.update(saved)


def time_queries(env: dict[str, str], busiest: str, repeats: int) -> dict[str, list[float]]:
    """The same questions in-process (query + JSON encoding only, no start-up), in seconds."""
    import json

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("HIB_")})
    if "HIB_DB_URL" not in env:
        os.environ.pop("HIB_DB_URL", None)
    try:
        from hib_orchestrator.recording import open_engine, sqlite_reads
        from hib_orchestrator.recording.queries import history, list_hosts, list_runs, show_run
        from hib_orchestrator.settings import load_settings

        engine = open_engine()
        calls = {
            "hosts": lambda c: list_hosts(c),
            "runs": lambda c: list_runs(c),
            "runs show latest": lambda c: show_run(c, "latest"),
            "history": lambda c: history(c, busiest),
        }
        out: dict[str, list[float]] = {}
        for name, call in calls.items():
            out[name] = []
            for _ in range(repeats + 1):
                t0 = time.perf_counter()
                with engine.connect() as conn:
                    json.dumps(call(conn), default=str)
                out[name].append(time.perf_counter() - t0)
            out[name] = out[name][1:]  # the first call warms caches
        engine.dispose()
        light = sqlite_reads.open_reader(load_settings())
        if light is not None:  # SQLite: the same questions on the sqlite3 path
            light_calls = {
                "hosts": lambda c: sqlite_reads.list_hosts(c),
                "runs": lambda c: sqlite_reads.list_runs(c),
                "runs show latest": lambda c: sqlite_reads.show_run(c, "latest"),
                "history": lambda c: sqlite_reads.history(c, busiest),
            }
            for name, call in light_calls.items():
                secs = []
                for _ in range(repeats + 1):
                    t0 = time.perf_counter()
                    json.dumps(call(light), default=str)
                    secs.append(time.perf_counter() - t0)
                out[f"{name} (sqlite3)"] = secs[1:]
            light.close()
        return out
    finally:
        os.environ.clear()
        os.environ.update(saved)


def time_cli(env: dict[str, str], busiest: str, repeats: int) -> dict[str, list[Sample]]:
    """Each read command ``repeats`` times (after one unmeasured warm-up call)."""
    hib = str(BIN / "hib")
    commands = {
        "hib hosts --json": [hib, "hosts", "--json"],
        "hib hosts (table)": [hib, "hosts"],
        "hib hosts --stale 24h --json": [hib, "hosts", "--stale", "24h", "--json"],
        "hib runs --json": [hib, "runs", "--json"],
        "hib runs (table)": [hib, "runs"],
        "hib runs show latest --json": [hib, "runs", "show", "latest", "--json"],
        "hib runs show latest (table)": [hib, "runs", "show", "latest"],
        f"hib history {busiest} --json": [hib, "history", busiest, "--json"],
        f"hib history {busiest} (table)": [hib, "history", busiest],
    }
    out: dict[str, list[Sample]] = {}
    # A wide terminal for the tables, as a person would see them (rich wraps otherwise).
    env = {**env, "COLUMNS": "200"}
    for name, cmd in commands.items():
        measure(cmd, env, mem_interval=0, capture=True)
        out[name] = [measure(cmd, env, mem_interval=0, capture=True) for _ in range(repeats)]
        size = len(out[name][0].stdout)
        print(f"  {name}: min {_min(out[name]):.3f} s, median {med(out[name], 'wall_s'):.3f} s "
              f"({size / 1e6:.1f} MB of output)", flush=True)
    return out


def main() -> None:
    """Build the databases, time the commands, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--changed", type=int, default=100, help="devices changed per later run")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    banner(f"scale benchmark: {args.devices} devices, {args.runs} runs, {args.repeats} repeats")
    tmp = scratch("hib-bench-scale-")
    rows = []
    with ExitStack() as stack:
        dbs = {"sqlite": bench_env(tmp / "sqlite")}
        if not args.no_postgres:
            pg = stack.enter_context(postgres())
            if pg is None:
                print("  postgres: not installed; skipped")
            else:
                dbs["postgres"] = bench_env(tmp / "pg", HIB_DB_URL=pg.url)
        floor = startup(dbs["sqlite"], args.repeats)
        base = _min(floor["hib --help"])
        for name, samples in floor.items():
            wall = _min(samples)
            target = ("yes" if wall < HELP_TARGET_S else "NO") if name == "hib --help" else "-"
            rows.append(["-", name, f"{wall:.3f} s", f"{med(samples, 'wall_s'):.3f} s",
                         f"{spread(samples, 'wall_s'):.3f}", f"{wall - base:.3f} s", target,
                         f"{med(samples, 'cpu_s'):.3f} s", f"{med(samples, 'peak_rss_mb'):.0f}"])
        for db, env in dbs.items():
            took, busiest = populate(env, args.devices, args.runs, args.changed)
            print(f"{db}: {args.runs} runs x {args.devices} devices recorded in {took:.1f} s",
                  flush=True)
            for name, secs in time_queries(env, busiest, args.repeats).items():
                rows.append([db, f"(in-process query) {name}", f"{min(secs):.3f} s",
                             f"{statistics.median(secs):.3f} s",
                             f"{max(secs) - min(secs):.3f}", "-", "-", "-", "-"])
            for name, samples in time_cli(env, busiest, args.repeats).items():
                wall = _min(samples)
                rows.append([db, name, f"{wall:.3f} s", f"{med(samples, 'wall_s'):.3f} s",
                             f"{spread(samples, 'wall_s'):.3f}", f"{wall - base:.3f} s",
                             "yes" if wall < TARGET_S else "NO",
                             f"{med(samples, 'cpu_s'):.3f} s",
                             f"{med(samples, 'peak_rss_mb'):.0f}"])
    shutil.rmtree(tmp, ignore_errors=True)
    print_table(f"scale: {args.devices} devices, {args.runs} runs "
                f"({args.devices * args.runs} host results), {args.repeats} calls each; "
                f"'beyond start-up' subtracts `hib --help` ({base:.3f} s)",
                ["db", "command", "wall (min)", "median", "spread", "beyond start-up",
                 f"< {TARGET_S} s (help < {HELP_TARGET_S} s)", "CPU (median)", "max RSS MB"],
                rows)
    print(f"\nreproduce: cd {ROOT} && .venv/bin/python bench/scale.py --devices {args.devices} "
          f"--runs {args.runs} --repeats {args.repeats}")


def _min(samples: list[Sample]) -> float:
    return min(s.wall_s for s in samples)


def startup(env: dict[str, str], repeats: int) -> dict[str, list[Sample]]:
    """What every command pays before it reads anything: the interpreter, the libraries, the CLI."""
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import typer, rich.table'": [py, "-c", "import typer, rich.table"],
        "python -c 'import sqlalchemy'": [py, "-c", "import sqlalchemy"],
        "python -c 'import sqlalchemy.orm, typer, rich.table'":
            [py, "-c", "import sqlalchemy.orm, typer, rich.table"],
        "hib --help": [str(BIN / "hib"), "--help"],
        # What a read command imports before it reads anything: on the light path (SQLite)...
        "python -c 'import hib_orchestrator.cli.quick, sqlite3, orjson'":
            [py, "-c", "import hib_orchestrator.cli.quick, hib_orchestrator.recording.sqlite_reads,"
                       " orjson"],
        # ... and on the typer + SQLAlchemy path (PostgreSQL; typer parses through pydantic).
        "python -c 'import hib_orchestrator.cli.app, sqlalchemy, typer._adapters'":
            [py, "-c", "import hib_orchestrator.cli.app, sqlalchemy, typer._adapters"],
    }
    return {name: [measure(cmd, env, mem_interval=0) for _ in range(max(repeats, 5))]
            for name, cmd in commands.items()}


if __name__ == "__main__":
    main()
