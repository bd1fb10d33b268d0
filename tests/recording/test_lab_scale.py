"""The recorder counts 200+ lab devices exactly, faults included (real SSH, real playbook)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEVICES = 208


def _run(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HIB_HOME": str(home), "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.pop("HIB_RUN_ID", None)
    return subprocess.run(list(args), env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def big_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    home = tmp_path_factory.mktemp("big-lab")
    up = _run(home, str(BIN / "hib"), "lab", "up", "--devices", str(DEVICES))
    assert up.returncode == 0, up.stderr
    try:
        yield home, Path(up.stdout.strip().splitlines()[-1])
    finally:
        _run(home, str(BIN / "hib"), "lab", "down")


@pytest.mark.slow
def test_every_host_and_status_counted_exactly(big_lab: tuple[Path, Path]) -> None:
    home, inventory = big_lab
    hosts = sorted(
        h for group in yaml.safe_load(inventory.read_text())["all"]["children"]["network"][
            "children"].values() for h in group["hosts"])
    assert len(hosts) == DEVICES
    faults = {hosts[3]: "auth", hosts[50]: "auth", hosts[77]: "refuse", hosts[120]: "truncate",
              hosts[160]: "hang"}
    for host, kind in faults.items():
        assert _run(home, str(BIN / "hib"), "lab", "fault", host, kind).returncode == 0
    run = _run(home, str(BIN / "ansible-playbook"), "playbooks/backup.yml", "-i",
               str(inventory), "--forks", "50", "-e", "hib_timeout=5", "-e", "hib_retries=0",
               # every device in Ansible's own recap too (the batch's per-device report)
               "-e", "hib_report_every_device=true")
    assert run.returncode != 0
    doc = json.loads(_run(home, str(BIN / "hib"), "runs", "show", "latest", "--json").stdout)
    rows = {h["host"]: h for h in doc["hosts"]}
    assert sorted(rows) == hosts
    expected = {"auth": ("failed", "AUTH_FAILED"), "refuse": ("unreachable", "UNREACHABLE"),
                "truncate": ("failed", "TRUNCATED_OUTPUT"), "hang": ("failed", "TIMEOUT")}
    for host, kind in faults.items():
        assert (rows[host]["status"], rows[host]["error_code"]) == expected[kind], rows[host]
    good = [h for h in hosts if h not in faults]
    assert Counter(rows[h]["status"] for h in good) == {"changed": len(good)}
    assert len({rows[h]["commit"] for h in good}) == 1
    listed = json.loads(_run(home, str(BIN / "hib"), "runs", "--json").stdout)[0]
    assert (listed["hosts_total"], listed["changed"], listed["failed"], listed["unreachable"],
            listed["ok"]) == (DEVICES, DEVICES - 5, 4, 1, 0)
    # Ansible's own recap agrees with the database
    recap = [line for line in run.stdout.splitlines() if " : ok=" in line]
    assert len(recap) == DEVICES
    assert sum("unreachable=1" in line for line in recap) == 1
    assert sum("failed=1" in line for line in recap) == 4
