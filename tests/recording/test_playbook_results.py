"""Real ansible-playbook runs recorded exactly: every status, 240 hosts, forks 50."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tests.recording.conftest import UNREACHABLE, Ansible, write_inventory

OUTCOMES = ("ok", "changed", "failed", "ignored", "skipped", "unreachable")
EXPECTED_STATUS = {"ok": "ok", "changed": "changed", "failed": "failed", "ignored": "ok",
                   "skipped": "skipped", "unreachable": "unreachable"}
RUN_FIELDS = {"id", "status", "started_at", "finished_at", "playbook", "hosts_total", "ok",
              "changed", "failed", "unreachable"}
HOST_FIELDS = {"host", "kind", "status", "changed", "error_code", "error_message", "duration_s",
               "attempts", "sha256", "size_bytes", "commit", "objects"}


def test_every_status_of_240_hosts_is_counted_exactly(
    ansible: Ansible, tmp_path: Path, hib: Any
) -> None:
    hosts: dict[str, dict[str, Any]] = {}
    for i in range(240):
        outcome = OUTCOMES[i % len(OUTCOMES)]
        extra = UNREACHABLE if outcome == "unreachable" else {}
        hosts[f"h{i:03d}"] = {"outcome": outcome, **extra}
    inventory = write_inventory(tmp_path / "inv.yml", hosts)

    proc = ansible.run("fleet.yml", inventory, "--forks", "50")

    assert proc.returncode in (2, 4), proc.stderr  # failed and unreachable hosts
    assert "hib recorder" not in proc.stderr
    runs = hib("runs")
    assert len(runs) == 1
    run = runs[0]
    assert set(run) >= RUN_FIELDS
    assert run["status"] == "failed"
    assert run["playbook"].endswith("fleet.yml")
    assert run["finished_at"] is not None
    assert (run["hosts_total"], run["ok"], run["changed"], run["failed"], run["unreachable"]) == (
        240, 80, 40, 40, 40
    )
    shown = hib("runs", "show", "latest")
    assert shown["id"] == run["id"] and shown["status"] == "failed"
    assert len(shown["hosts"]) == 240
    for row in shown["hosts"]:
        assert set(row) >= HOST_FIELDS
        outcome = hosts[row["host"]]["outcome"]
        assert row["status"] == EXPECTED_STATUS[outcome], row
        if outcome == "failed":
            assert row["error_message"] == f"planned failure of {row['host']}"
            assert row["error_code"] is None
        elif outcome == "unreachable":
            assert row["error_code"] == "UNREACHABLE"
            assert "port 1" in row["error_message"]
        else:
            assert row["error_code"] is None and row["error_message"] is None
    assert Counter(r["status"] for r in shown["hosts"]) == {
        "ok": 80, "changed": 40, "failed": 40, "skipped": 40, "unreachable": 40}
    listed = {h["host"]: h for h in hib("hosts")}
    assert len(listed) == 240
    assert listed["h000"]["last_status"] == "ok" and listed["h000"]["stale"] is False
    assert listed["h002"]["last_success_at"] is None and listed["h002"]["stale"] is True


def test_every_task_result_is_kept(ansible: Ansible, tmp_path: Path) -> None:
    hosts = {f"t{i:03d}": {"outcome": OUTCOMES[i % 3]} for i in range(30)}
    inventory = write_inventory(tmp_path / "inv.yml", hosts)
    ansible.run("statuses.yml", inventory, "--forks", "20")

    from sqlalchemy import func, select

    from hib_orchestrator.db.models import Task, TaskResult
    from hib_orchestrator.recording import open_engine

    with open_engine().connect() as conn:
        per_task = dict(conn.execute(
            select(Task.name, func.count(TaskResult.id))
            .join(TaskResult, TaskResult.task_id == Task.id).group_by(Task.name)
        ).all())
        actions = set(conn.execute(select(Task.action)).scalars())
    # A result for every host still in play (ran or skipped), nothing lost; the 10 failed
    # hosts leave the play after "fail on purpose".
    assert per_task == {"say hello": 30, "change something": 30, "fail on purpose": 30,
                        "fail but ignored": 20, "connect": 20}
    assert "ansible.builtin.fail" in actions


def test_device_and_provider_fields_and_the_commit(
    ansible: Ansible, tmp_path: Path, hib: Any
) -> None:
    sha = "ab" * 32
    commit = "c0ffee" + "0" * 34
    hosts = {
        "ios-001": {"kind": "device", "dev_sha": sha},
        "ios-002": {"kind": "device", "dev_sha": sha, "dev_changed": False},
        "ios-003": {"kind": "device", "dev_sha": sha, "dev_error": "no answer in 30s"},
        "s3-main": {"kind": "provider"},
    }
    inventory = write_inventory(
        tmp_path / "inv.yml", hosts,
        {"commit_sha": commit, "commit_hosts": ["ios-001", "ios-002"]},
    )
    proc = ansible.run("backup_shapes.yml", inventory)
    assert proc.returncode == 2, proc.stdout + proc.stderr

    rows = {h["host"]: h for h in hib("runs", "show", "latest")["hosts"]}
    assert rows["ios-001"] == {
        "host": "ios-001", "kind": "device", "status": "changed", "changed": True,
        "error_code": None, "error_message": None, "duration_s": 1.25, "attempts": 2,
        "sha256": sha, "size_bytes": 1234, "commit": commit, "objects": None,
    }
    assert rows["ios-002"]["status"] == "ok" and rows["ios-002"]["commit"] == commit
    assert rows["ios-003"]["status"] == "failed"
    assert (rows["ios-003"]["error_code"], rows["ios-003"]["error_message"]) == (
        "TIMEOUT", "no answer in 30s")
    assert rows["ios-003"]["commit"] is None
    assert rows["s3-main"]["kind"] == "provider"
    assert rows["s3-main"]["objects"] == {
        "new": 3, "changed": 1, "unchanged": 10, "deleted_upstream": 0, "failed": 0, "bytes": 4096}
    # The commit task ran once (on the first host) but does not count as that host's change.
    assert hib("runs")[0]["changed"] == 2
    history = hib("history", "ios-001")
    assert [(v["commit"], v["sha256"], v["size_bytes"]) for v in history] == [(commit, sha, 1234)]
    assert history[0]["run_id"] == hib("runs")[0]["id"]


def test_rescued_failures_do_not_fail_the_host(ansible: Ansible, tmp_path: Path, hib: Any) -> None:
    hosts = {"fine": {"outcome": "ok"}, "saved": {"outcome": "rescued"},
             "lost": {"outcome": "failed"}}
    proc = ansible.run("rescue.yml", write_inventory(tmp_path / "inv.yml", hosts))
    assert proc.returncode == 2
    rows = {h["host"]: h for h in hib("runs", "show", "latest")["hosts"]}
    assert {h: r["status"] for h, r in rows.items()} == {
        "fine": "skipped", "saved": "ok", "lost": "failed"}
    assert rows["saved"]["error_message"] is None
    assert rows["lost"]["error_message"] == "really broken"
