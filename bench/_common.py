"""Shared helpers for the benchmarks: timing with CPU and peak RSS, lab control, tables."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class Sample:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def measure_subprocess(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> Sample:
    """Run ``cmd`` to completion; wall time, CPU (user+sys of the whole tree), peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0,):
        print(f"  ! {' '.join(cmd[:3])}... exited {proc.returncode}: {proc.stderr[-400:]}",
              file=sys.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall, cpu, after.ru_maxrss / 1024)


def measure_inprocess(fn: Callable[[], object]) -> Sample:
    """Run ``fn`` in this process; wall, CPU of this process, peak RSS so far."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall, cpu, after.ru_maxrss / 1024)


def median_spread(samples: list[Sample], attr: str) -> tuple[float, float]:
    values = [getattr(s, attr) for s in samples]
    return statistics.median(values), (max(values) - min(values))


@contextmanager
def lab(devices: int, platforms: str | None = None) -> Iterator[tuple[dict[str, str], Path]]:
    """A lab in a throwaway HIB_HOME; yields (env, inventory path) and always stops it."""
    home = Path(tempfile.mkdtemp(prefix="hib-bench-"))
    env = {**os.environ, "HIB_HOME": str(home), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cmd = [str(BIN / "hib"), "lab", "up", "--devices", str(devices)]
    if platforms:
        cmd += ["--platforms", platforms]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    print(f"lab: {devices} devices up in {time.perf_counter() - t0:.1f} s")
    inventory = Path(out.stdout.strip().splitlines()[-1])
    try:
        yield env, inventory
    finally:
        subprocess.run([str(BIN / "hib"), "lab", "down"], env=env, cwd=ROOT, check=False,
                       capture_output=True)


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
