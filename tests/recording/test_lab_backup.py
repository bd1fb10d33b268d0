"""End to end with the real lab and playbooks/backup.yml: what `hib` reads back after real device
backups (kinds, error codes, commits, history, config, diff), recorded by the real callback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.recording.conftest import REPO, VENV_BIN

HIB = str(VENV_BIN / "hib")


def _hib(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIB_")}
    env["HIB_HOME"] = str(home)
    proc = subprocess.run(
        [HIB, *args], env=env, capture_output=True, text=True, timeout=180, cwd=REPO
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"hib {' '.join(args)} -> {proc.returncode}: {proc.stderr}")
    return proc


def _json(home: Path, *args: str) -> Any:
    return json.loads(_hib(home, *args, "--json").stdout)


class LabRun:
    def __init__(self, home: Path, inventory: Path) -> None:
        self.home = home
        self.inventory = inventory

    def hosts(self) -> list[str]:
        doc = yaml.safe_load(self.inventory.read_text())
        return sorted(
            h for g in doc["all"]["children"]["network"]["children"].values() for h in g["hosts"]
        )

    def backup(self, *inventories: Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HIB_", "ANSIBLE_"))}
        env.update(HIB_HOME=str(self.home), PATH=f"{VENV_BIN}:{env.get('PATH', '')}")
        cmd = [
            str(VENV_BIN / "ansible-playbook"),
            "playbooks/backup.yml",
            "-i",
            str(self.inventory),
        ]
        for extra in inventories:
            cmd += ["-i", str(extra)]
        return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabRun]:
    home = tmp_path_factory.mktemp("rec-lab")
    try:
        out = _hib(home, "lab", "up", "--devices", "8", "--seed", "11").stdout
        yield LabRun(home, Path(out.strip().splitlines()[-1]))
    finally:
        _hib(home, "lab", "down", check=False)


@pytest.mark.slow
def test_backups_read_back_through_hib(lab: LabRun, tmp_path: Path) -> None:
    hosts = lab.hosts()
    auth, refused = hosts[0], hosts[1]
    overlay = tmp_path / "overlay.yml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        auth: {"hib_timeout": 3, "hib_retries": 0},
                        refused: {"hib_timeout": 3, "hib_retries": 0},
                    }
                }
            }
        )
    )
    _hib(lab.home, "lab", "fault", auth, "auth")
    _hib(lab.home, "lab", "fault", refused, "refuse")
    try:
        first = lab.backup(overlay)
    finally:
        _hib(lab.home, "lab", "fault", auth, "none")
        _hib(lab.home, "lab", "fault", refused, "none")
    assert first.returncode != 0 and "hib recorder" not in first.stderr, first.stderr

    run = _json(lab.home, "runs", "show", "latest")
    rows = {h["host"]: h for h in run["hosts"]}
    assert run["status"] == "failed" and sorted(rows) == hosts
    assert (rows[auth]["status"], rows[auth]["error_code"]) == ("failed", "AUTH_FAILED")
    assert (rows[refused]["status"], rows[refused]["error_code"]) == ("unreachable", "UNREACHABLE")
    good = [h for h in hosts if h not in (auth, refused)]
    commits = {rows[h]["commit"] for h in good}
    assert len(commits) == 1 and None not in commits  # one commit for the run
    for host in good:
        row = rows[host]
        assert (row["kind"], row["status"], row["changed"]) == ("device", "changed", True)
        assert len(row["sha256"]) == 64 and row["size_bytes"] > 0 and row["attempts"] >= 1
        assert row["duration_s"] > 0
    listed = _json(lab.home, "runs")[0]
    assert (listed["hosts_total"], listed["changed"], listed["failed"], listed["unreachable"]) \
        == (8, 6, 1, 1)

    # The faults cleared: the two hosts get their first version, the others are unchanged.
    second = lab.backup()
    assert second.returncode == 0, second.stderr
    rows = {h["host"]: h for h in _json(lab.home, "runs", "show", "latest")["hosts"]}
    assert {h for h, r in rows.items() if r["status"] == "changed"} == {auth, refused}
    assert rows[auth]["commit"] is not None and rows[good[0]]["commit"] is None

    # Nothing changed: changed=0, no commit, history unchanged.
    third = lab.backup()
    assert third.returncode == 0, third.stderr
    again = _json(lab.home, "runs")[0]
    assert (again["status"], again["ok"], again["changed"]) == ("successful", 8, 0)
    history = _json(lab.home, "history", good[0])
    assert [v["commit"] for v in history] == list(commits)

    # Mutate two devices: only they get a new version; config and diff show it.
    mutated = json.loads(_hib(lab.home, "lab", "mutate", "--devices", "2", "--json").stdout)
    fourth = lab.backup()
    assert fourth.returncode == 0, fourth.stderr
    assert _json(lab.home, "runs")[0]["changed"] == 2
    for host in mutated["hosts"]:
        versions = _json(lab.home, "history", host)
        assert len(versions) == 2
        text = _hib(lab.home, "config", host).stdout
        assert hashlib_sha256(text) == versions[0]["sha256"]
        diff = _hib(lab.home, "diff", host).stdout
        assert diff.startswith("---") and "\n+" in diff
    assert not [h for h in _json(lab.home, "hosts") if h["stale"] and h["host"] in good]


def hashlib_sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


if sys.platform != "linux":  # the lab needs Linux loopback addresses
    pytestmark = pytest.mark.skip("the lab runs on Linux")
