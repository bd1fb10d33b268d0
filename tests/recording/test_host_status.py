"""``host_status`` (one row per host, what ``hib hosts`` reads) always says what ``host_results``
says: written by the real Recorder (new runs, rows rewritten within a run, rescued failures,
two runs overlapping on a host), after kill -9, after ``hib runs prune``, and when migration
0004 fills it from a database made at 0003. SQLite and PostgreSQL.

The expected answer is computed in Python from every ``host_results`` row, independently of the
SQL that maintains the table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from hib_orchestrator.db.engine import create_db_engine
from hib_orchestrator.db.migrate import current_revisions, downgrade, upgrade
from hib_orchestrator.db.tables import host_results, host_status, runs
from hib_orchestrator.recording import Recorder, list_hosts, open_engine, prune_runs
from hib_orchestrator.recording.queries import iso

DEVICE = {"hib_kind": "device", "changed": False, "attempts": 1, "duration_s": 0.1}
FAILED = {"hib_kind": "device", "failed": True, "error_code": "TIMEOUT", "msg": "no prompt"}


@pytest.fixture
def engine(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("HIB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HIB_DB_URL", db_url)
    yield open_engine()


def expected_hosts(engine: Engine) -> dict[str, tuple[str | None, str, str | None]]:
    """host -> (kind, last status, last success) from every host_results row."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(host_results.c.host, host_results.c.run_id, host_results.c.kind,
                   host_results.c.status, host_results.c.finished_at)
            .order_by(host_results.c.run_id)
        ).all()
    out: dict[str, tuple[str | None, str, str | None]] = {}
    success: dict[str, datetime] = {}
    for host, _run_id, kind, status, finished in rows:  # oldest run first: the last row wins
        known_kind = kind or (out[host][0] if host in out else None)
        if status in ("ok", "changed") and (host not in success or finished > success[host]):
            success[host] = finished
        out[host] = (known_kind, status, None)
    return {h: (k, s, iso(success.get(h))) for h, (k, s, _) in out.items()}


def listed_hosts(engine: Engine) -> dict[str, tuple[str | None, str, str | None]]:
    with engine.connect() as conn:
        return {h["host"]: (h["kind"], h["last_status"], h["last_success_at"])
                for h in list_hosts(conn)}


def assert_agrees(engine: Engine) -> dict[str, tuple[str | None, str, str | None]]:
    listed = listed_hosts(engine)
    assert listed == expected_hosts(engine)
    return listed


def wait_for_row(engine: Engine, run_id: int, host: str, status: str) -> None:
    """Until the recorder's writer has stored ``host``'s row of ``run_id`` with ``status``."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            found = conn.execute(
                select(host_results.c.status)
                .where(host_results.c.run_id == run_id, host_results.c.host == host)
            ).scalar()
        if found == status:
            return
        time.sleep(0.02)
    raise AssertionError(f"run {run_id}: {host} never stored as {status}")


def at(days_ago: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days_ago)


def test_new_runs_and_rows_rewritten_within_a_run(engine: Engine) -> None:
    first = Recorder(engine, flush_interval=0.05)
    first.start_run("backup.yml")
    first.task_start("t1", "config", "hib.orchestrator.device_config")
    for host in ("a", "b", "c"):
        first.result("t1", host, "ok", DEVICE, at=at(3))
    first.result("t1", "d", "failed", FAILED, at=at(3))
    first.finish("failed")
    listed = assert_agrees(engine)
    assert listed["a"][1:] == ("ok", iso(listed_time(engine, "a")))
    assert listed["d"] == ("device", "failed", None)

    second = Recorder(engine, flush_interval=0.05)
    run_id = second.start_run("backup.yml")
    second.task_start("t1", "config", "hib.orchestrator.device_config")
    second.result("t1", "a", "ok", DEVICE, at=at(1))
    second.result("t1", "b", "ok", DEVICE, at=at(1))
    second.result("t1", "d", "ok", DEVICE, at=at(1))
    wait_for_row(engine, run_id, "b", "ok")
    assert_agrees(engine)  # mid-run: b's success of this run counts already
    # A later task fails on b: its row of this run is rewritten; the success it had a moment
    # ago must not survive, the one of the first run must.
    second.task_start("t2", "verify", "command")
    second.result("t2", "b", "failed", {"msg": "verify failed"}, at=at(0.9))
    wait_for_row(engine, run_id, "b", "failed")
    second.finish("failed")
    listed = assert_agrees(engine)
    assert listed["b"][1] == "failed"
    assert listed["b"][2] == iso(at_of(engine, "b", first.run_id))
    assert listed["c"][1] == "ok"  # not in the second run: its first-run row stays newest
    assert listed["d"][1:] == ("ok", iso(at_of(engine, "d", run_id)))


def listed_time(engine: Engine, host: str) -> datetime:
    with engine.connect() as conn:
        value = conn.execute(
            select(host_status.c.finished_at).where(host_status.c.host == host)
        ).scalar_one()
    assert isinstance(value, datetime)
    return value


def at_of(engine: Engine, host: str, run_id: int | None) -> datetime:
    with engine.connect() as conn:
        value = conn.execute(
            select(host_results.c.finished_at)
            .where(host_results.c.host == host, host_results.c.run_id == run_id)
        ).scalar_one()
    assert isinstance(value, datetime)
    return value


def test_a_rescued_failure_is_a_success(engine: Engine) -> None:
    rec = Recorder(engine, flush_interval=0.05)
    run_id = rec.start_run("backup.yml")
    rec.task_start("t1", "config", "hib.orchestrator.device_config")
    rec.result("t1", "r1", "failed", FAILED)
    wait_for_row(engine, run_id, "r1", "failed")
    assert listed_hosts(engine)["r1"][1:] == ("failed", None)
    rec.settle({"r1"})  # Ansible: the block's rescue handled it
    rec.finish("successful")
    assert assert_agrees(engine)["r1"][1] == "ok"


def test_two_runs_overlapping_on_a_host(engine: Engine) -> None:
    older, newer = Recorder(engine, flush_interval=0.05), Recorder(engine, flush_interval=0.05)
    old_id = older.start_run("nightly.yml")
    new_id = newer.start_run("adhoc.yml")
    assert new_id > old_id
    for rec in (older, newer):
        rec.task_start("t1", "config", "hib.orchestrator.device_config")
    for host in ("g", "h"):
        newer.result("t1", host, "failed", FAILED, at=at(0.5))
    wait_for_row(engine, new_id, "h", "failed")
    # The older run reports later: its successes count (each host its own), its rows do not
    # become the newest.
    older.result("t1", "g", "ok", DEVICE, at=at(0.2))
    older.result("t1", "h", "ok", DEVICE, at=at(0.4))
    wait_for_row(engine, old_id, "h", "ok")
    listed = assert_agrees(engine)
    assert listed["h"] == ("device", "failed", iso(at_of(engine, "h", old_id)))
    assert listed["g"] == ("device", "failed", iso(at_of(engine, "g", old_id)))
    # ... until a later task of the older run fails too: no success is left at all.
    older.task_start("t2", "verify", "command")
    older.result("t2", "h", "failed", {"msg": "verify failed"}, at=at(0.3))
    wait_for_row(engine, old_id, "h", "failed")
    assert assert_agrees(engine)["h"] == ("device", "failed", None)
    older.finish("failed")
    newer.finish("failed")
    assert_agrees(engine)


KILLED_RUN = """
import os, signal, sys, time
from sqlalchemy import select
from hib_orchestrator.db.tables import host_results
from hib_orchestrator.recording import Recorder, open_engine

engine = open_engine()
rec = Recorder(engine, flush_interval=0.05)
run_id = rec.start_run("backup.yml")
rec.task_start("t1", "config", "hib.orchestrator.device_config")
for i in range(50):
    rec.result("t1", f"k{i}", "ok" if i % 5 else "unreachable", {"hib_kind": "device"})
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    with engine.connect() as conn:
        n = len(conn.execute(select(host_results.c.host)
                             .where(host_results.c.run_id == run_id)).all())
    if n == 50:
        break
    time.sleep(0.02)
rec.task_start("t2", "verify", "command")
rec.result("t2", "k1", "failed", {"msg": "late failure"})
print(run_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_run_killed_with_sigkill(engine: Engine, db_url: str, tmp_path: Path) -> None:
    rec = Recorder(engine, flush_interval=0.05)
    rec.start_run("backup.yml")
    rec.task_start("t1", "config", "hib.orchestrator.device_config")
    for i in range(0, 50, 2):
        rec.result("t1", f"k{i}", "ok", DEVICE, at=at(2))
    rec.finish("successful")  # an earlier run: every even host backed up two days ago

    env = {**os.environ, "HIB_HOME": str(tmp_path / "home"), "HIB_DB_URL": db_url}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED_RUN)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    killed = int(proc.stdout.split()[0])
    reopened = open_engine()
    with reopened.connect() as conn:
        status = conn.execute(select(runs.c.status).where(runs.c.id == killed)).scalar_one()
    assert status == "interrupted"
    listed = assert_agrees(reopened)
    assert len(listed) == 50
    assert listed["k0"][1] == "unreachable" and listed["k0"][2] is not None  # ok two days ago
    assert listed["k5"] == ("device", "unreachable", None)


def test_prune_rebuilds_from_what_remains(engine: Engine) -> None:
    ids = []
    for n, hosts in enumerate((["gone", "p1", "p2"], ["p1", "p2"], ["p1"])):
        rec = Recorder(engine, flush_interval=0.05)
        ids.append(rec.start_run("backup.yml"))
        rec.task_start("t1", "config", "hib.orchestrator.device_config")
        for host in hosts:
            ok = not (host == "p2" and n == 1) and not (host == "p1" and n == 2)
            rec.result("t1", host, "ok" if ok else "failed", DEVICE if ok else FAILED,
                       at=at(10 - n))
        rec.finish("successful")
    before = assert_agrees(engine)
    assert set(before) == {"gone", "p1", "p2"}
    with engine.begin() as conn:
        assert prune_runs(conn, keep_last=2) == 1
    after = assert_agrees(engine)
    assert set(after) == {"p1", "p2"}  # "gone" was only in the pruned run
    assert after["p2"] == ("device", "failed", None)  # its only success was pruned
    assert after["p1"][1:] == ("failed", iso(at_of(engine, "p1", ids[1])))


def test_migration_0004_fills_host_status_from_a_0003_database(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine, "0003_run_keys")
    now = datetime.now(UTC)
    rows = [  # (run, host, kind, status, days ago)
        (1, "m1", "device", "ok", 3), (1, "m2", None, "failed", 3), (1, "m3", "device", "ok", 3),
        (2, "m1", "device", "changed", 2), (2, "m2", "device", "unreachable", 2),
        (3, "m1", None, "failed", 1), (3, "m3", "device", "skipped", 1),
    ]
    with engine.begin() as conn:
        for run_id in (1, 2, 3):
            conn.execute(insert(runs).values(id=run_id, status="failed", playbook="b.yml",
                                             started_at=now - timedelta(days=4 - run_id)))
        conn.execute(insert(host_results), [
            {"run_id": r, "host": h, "kind": k, "status": s, "changed": s == "changed",
             "finished_at": now - timedelta(days=d)}
            for r, h, k, s, d in rows
        ])
    upgrade(engine)
    assert_agrees(engine)
    listed = listed_hosts(engine)
    assert listed["m1"] == ("device", "failed", iso(now - timedelta(days=2)))
    assert listed["m2"] == ("device", "unreachable", None)
    assert listed["m3"] == ("device", "skipped", iso(now - timedelta(days=3)))
    downgrade(engine, "0003_run_keys")
    with engine.connect() as conn:
        assert current_revisions(conn) == ("0003_run_keys",)
    upgrade(engine)
    assert listed_hosts(engine) == listed
    engine.dispose()
