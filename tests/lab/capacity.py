"""Measure the lab at scale: start time, a full netmiko thread-pool fetch, daemon CPU/session.

Run: ``.venv/bin/python -m tests.lab.capacity --devices 1000 --workers 50`` (uses its own
temporary HIB_HOME and stops the lab at the end). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.lab.conftest import Lab, hib, pooled_fetch, start_lab

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _one(hostvars: dict[str, Any]) -> str | None:
    try:
        text = pooled_fetch(hostvars, conn_timeout=30, banner_timeout=30, auth_timeout=30)
    except Exception as err:  # every failure is counted
        return f"{type(err).__name__}: {err}"
    return None if len(text) > 100 else f"short output from {hostvars['ansible_host']}: {text!r}"


def measure(devices: int, workers: int) -> dict[str, Any]:
    """Start a lab of ``devices``, fetch all with ``workers`` threads, stop it."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        t0 = time.monotonic()
        lab: Lab = start_lab(home, "--devices", str(devices))
        start_s = time.monotonic() - t0
        try:
            pid = int(lab.status()["pid"])
            hosts = lab.hosts()
            cpu0 = cpu_seconds(pid)
            t1 = time.monotonic()
            with ThreadPoolExecutor(workers) as pool:
                errors = [e for e in pool.map(_one, hosts.values()) if e]
            wall = time.monotonic() - t1
            cpu = cpu_seconds(pid) - cpu0
            rss_mb = rss_kib(pid) / 1024
        finally:
            hib(home, "lab", "down")
    return {
        "devices": devices, "workers": workers, "start_s": round(start_s, 2),
        "fetch_wall_s": round(wall, 1), "failed": len(errors), "errors": errors[:5],
        "daemon_cpu_s": round(cpu, 2), "daemon_rss_mb": round(rss_mb),
        "daemon_cpu_ms_per_session": round(1000 * cpu / devices, 1),
    }


def main() -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(measure(args.devices, args.workers), indent=1))


if __name__ == "__main__":
    main()
