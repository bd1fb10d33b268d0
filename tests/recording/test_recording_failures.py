"""A recorder that cannot write says so and marks the run; a dropped connection loses nothing."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from tests.recording.conftest import Ansible, write_inventory

HOSTS = {f"g{i}": {} for i in range(8)}


def _gated_inventory(tmp_path: Path) -> tuple[Path, Path, Path]:
    gate, release = tmp_path / "gate", tmp_path / "release"
    inv = write_inventory(tmp_path / "inv.yml", HOSTS,
                          {"gate_file": str(gate), "release_file": str(release)})
    return inv, gate, release


def _wait_for_line(stream: Any, needle: str, timeout: float = 90) -> str:
    found: list[str] = []

    def reader() -> None:
        for line in stream:
            if needle in line:
                found.append(line)
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    assert found, f"{needle!r} never appeared on stderr"
    return found[0]


def test_a_write_failure_is_reported_retried_and_marks_the_run(
    ansible: Ansible, tmp_path: Path, hib: Any
) -> None:
    if not ansible.db_url.startswith("sqlite"):
        pytest.skip("the lock-out is SQLite's; PostgreSQL is covered by the dropped connection")
    inventory, gate, release = _gated_inventory(tmp_path)
    ansible.extra_env["HIB_RECORDER_BUSY_TIMEOUT"] = "0.2"
    proc = ansible.start("gated.yml", inventory)
    try:
        # Wait until the run exists, then lock every other writer out of the database.
        deadline = time.monotonic() + 60
        while not (ansible.home / "hib.db").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        blocker = sqlite3.connect(ansible.home / "hib.db", timeout=30, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        gate.touch()
        line = _wait_for_line(proc.stderr, "hib recorder: cannot write run")
        blocker.execute("COMMIT")
        blocker.close()
        release.touch()
        proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "database is locked" in line
    run = hib("runs")[0]
    assert run["status"] == "error"
    assert "database is locked" in run["recording_error"]
    # Retried, so nothing was lost.
    assert run["hosts_total"] == len(HOSTS) and run["ok"] == len(HOSTS)


def test_unwritable_database_at_start_is_reported_not_silent(
    ansible: Ansible, tmp_path: Path
) -> None:
    inventory, gate, release = _gated_inventory(tmp_path)
    gate.touch()
    release.touch()
    proc = ansible.run("gated.yml", inventory,
                       env={"HIB_DB_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    assert proc.returncode == 0  # the playbook itself still runs
    assert "hib recorder: this run is NOT recorded" in proc.stderr


def test_postgres_connections_killed_mid_run_lose_nothing(
    ansible: Ansible, tmp_path: Path, hib: Any
) -> None:
    if not ansible.db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    inventory, gate, release = _gated_inventory(tmp_path)
    proc = ansible.start("gated.yml", inventory)
    try:
        admin = create_engine(ansible.db_url, isolation_level="AUTOCOMMIT")
        database = admin.url.database
        deadline = time.monotonic() + 60
        with admin.connect() as conn:
            while time.monotonic() < deadline:  # the run exists and the writer is connected
                try:
                    running = conn.execute(text(
                        "SELECT count(*) FROM runs WHERE status = 'running'")).scalar_one()
                except ProgrammingError:  # not migrated yet
                    running = 0
                if running:
                    break
                time.sleep(0.2)
            killed = conn.execute(text(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :d AND pid <> pg_backend_pid()) t"), {"d": database}).scalar_one()
        admin.dispose()
        assert killed >= 1
        gate.touch()
        release.touch()
        _out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    run = hib("runs")[0]
    assert run["status"] in ("successful", "error")
    assert run["hosts_total"] == len(HOSTS) and run["ok"] == len(HOSTS)
    if run["status"] == "error":  # a write hit the dead connection: it must have said so
        assert "hib recorder: cannot write run" in err
