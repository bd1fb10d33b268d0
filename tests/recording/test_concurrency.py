"""Four ansible-playbook runs writing the same database at once lose nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.recording.conftest import Ansible, write_inventory

PER_RUN = 30


def test_four_concurrent_runs_lose_nothing(ansible: Ansible, tmp_path: Path, hib: Any) -> None:
    # The first use migrates an empty database: let all four race for that too.
    procs = []
    for n in range(4):
        hosts = {f"r{n}-{i:03d}": {"outcome": "changed" if i % 3 == 0 else "ok"}
                 for i in range(PER_RUN)}
        inventory = write_inventory(tmp_path / f"inv{n}.yml", hosts)
        procs.append(ansible.start("fleet.yml", inventory, "--forks", "20"))
    for proc in procs:
        _out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert "hib recorder" not in err

    runs = hib("runs")
    assert len(runs) == 4
    for run in runs:
        assert run["status"] == "successful"
        assert (run["hosts_total"], run["ok"], run["changed"]) == (PER_RUN, 20, 10)
    hosts = hib("hosts")
    assert len(hosts) == 4 * PER_RUN
    assert {h["host"].split("-")[0] for h in hosts} == {"r0", "r1", "r2", "r3"}
