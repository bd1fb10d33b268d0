"""Run lifecycle under real signals: SIGINT -> canceled, SIGTERM -> interrupted, kill -9 ->
interrupted at the next ``hib`` command or playbook start; never left "running"."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hib_orchestrator.db.engine import get_engine
from hib_orchestrator.db.migrate import ensure_schema
from hib_orchestrator.db.models import Run, Task, TaskResult
from tests.recording.conftest import Ansible, kill_leftovers, write_inventory

HOSTS = {f"s{i}": {} for i in range(5)}


def _rows(db_url: str) -> tuple[list[Any], int, set[str]]:
    """Runs, task results and task names, read without the reaping every hib command does."""
    engine = get_engine(db_url)
    ensure_schema(engine)
    with engine.connect() as conn:
        runs = conn.execute(select(Run.id, Run.status, Run.finished_at).order_by(Run.id)).all()
        results = conn.execute(select(func.count(TaskResult.id))).scalar_one()
        tasks = set(conn.execute(select(Task.name)).scalars())
    return runs, results, tasks


def _start_slow(ansible: Ansible, tmp_path: Path) -> subprocess.Popen[str]:
    proc = ansible.start("slow.yml", write_inventory(tmp_path / "inv.yml", HOSTS))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            runs, results, tasks = _rows(ansible.db_url)
        except Exception:  # the database may not exist yet
            runs, results, tasks = [], 0, set()
        if runs and "wait a long time" in tasks and results >= len(HOSTS):
            assert runs[0].status == "running"
            return proc
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the playbook never reached its long task")


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, "canceled"),
                                             (signal.SIGTERM, "interrupted")])
def test_signal_closes_the_run(
    ansible: Ansible, tmp_path: Path, sig: signal.Signals, status: str
) -> None:
    proc = _start_slow(ansible, tmp_path)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    runs, results, _ = _rows(ansible.db_url)
    assert [(r.status, r.finished_at is not None) for r in runs] == [(status, True)]
    assert results == len(HOSTS)  # the quick task's results were kept


def _writer_pid(controller: int) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == controller and b"hib_orchestrator.recording.writer" in cmdline:
            return int(entry.name)
    raise AssertionError("no recorder writer process under the controller")


def _kill_everything(proc: subprocess.Popen[str]) -> None:
    """Power-loss style: the writer and the controller die at once, nobody closes the run."""
    os.kill(_writer_pid(proc.pid), signal.SIGKILL)
    proc.kill()
    proc.wait(timeout=30)
    kill_leftovers(proc.args[2])  # the worker still waiting in its long task


def test_kill_9_of_the_controller_is_closed_by_the_writer(
    ansible: Ansible, tmp_path: Path
) -> None:
    proc = _start_slow(ansible, tmp_path)
    proc.kill()
    proc.wait(timeout=30)
    kill_leftovers(proc.args[2])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs, results, _ = _rows(ansible.db_url)
        if runs[0].status != "running":
            break
        time.sleep(0.2)
    assert [(r.status, r.finished_at is not None) for r in runs] == [("interrupted", True)]
    assert results == len(HOSTS)


def test_kill_9_is_interrupted_at_the_next_hib_command(
    ansible: Ansible, tmp_path: Path, hib: Any
) -> None:
    proc = _start_slow(ansible, tmp_path)
    _kill_everything(proc)
    assert [r.status for r in _rows(ansible.db_url)[0]] == ["running"]  # nobody closed it yet

    runs = hib("runs")
    assert [(r["status"], r["finished_at"] is not None) for r in runs] == [("interrupted", True)]
    shown = hib("runs", "show", "latest")
    assert sorted(h["host"] for h in shown["hosts"]) == sorted(HOSTS)  # store intact


def test_kill_9_is_interrupted_at_the_next_playbook_start(
    ansible: Ansible, tmp_path: Path
) -> None:
    proc = _start_slow(ansible, tmp_path)
    _kill_everything(proc)
    assert [r.status for r in _rows(ansible.db_url)[0]] == ["running"]

    done = ansible.run("statuses.yml",
                       write_inventory(tmp_path / "next.yml", {"n1": {"outcome": "ok"}}))
    assert done.returncode == 0, done.stderr

    runs, _, _ = _rows(ansible.db_url)
    assert [r.status for r in runs] == ["interrupted", "successful"]
