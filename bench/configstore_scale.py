"""How the config store behaves with many devices and many commits.

    .venv/bin/python bench/configstore_scale.py [--devices 10000] [--runs 200] [--changed 100]

Makes a store with DEVICES configs (~8 KB each) in one run, then RUNS runs that each change
CHANGED devices, and prints JSON timings of: the first commit, the median per-run commit, reading
the current copy, ``versions()`` of a device and ``read()`` at an old revision.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from hib_orchestrator.configstore import ConfigStore


def _config(host: str, rev: int) -> str:
    lines = [f"hostname {host}", f"! rev {rev}"]
    lines += [f"interface Gi0/{n}\n description port {n} of {host}\n!" for n in range(120)]
    return "\n".join(lines) + "\nend\n"


def main() -> None:
    """Build the store and print the timings."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    hosts = [f"dev-{n:05d}" for n in range(args.devices)]
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        store = ConfigStore(Path(tmp) / "configs")
        staging = store.staging("0")
        for host in hosts:
            staging.put(host, _config(host, 0), "x")
        started = time.perf_counter()
        store.commit_run("0")
        first = time.perf_counter() - started
        per_run = []
        for run in range(1, args.runs + 1):
            staging = store.staging(str(run))
            for host in rng.sample(hosts, args.changed):
                staging.put(host, _config(host, run), "x")
            started = time.perf_counter()
            store.commit_run(str(run))
            per_run.append(time.perf_counter() - started)
        timings = {}
        for name, call in {
            "current": lambda: store.current(hosts[7]),
            "versions": lambda: store.versions(hosts[7]),
            "versions_limit_10": lambda: store.versions(hosts[7], limit=10),
            "read_first_rev": lambda: store.read(hosts[7], store.versions(hosts[7])[-1].commit),
        }.items():
            started = time.perf_counter()
            call()
            timings[name] = round(time.perf_counter() - started, 4)
        print(json.dumps({
            "devices": args.devices, "runs": args.runs, "changed_per_run": args.changed,
            "first_commit_s": round(first, 2),
            "commit_median_s": round(statistics.median(per_run), 3),
            "commit_max_s": round(max(per_run), 3), **timings,
        }))


if __name__ == "__main__":
    main()
