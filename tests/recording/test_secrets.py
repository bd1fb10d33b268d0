"""Planted secrets (inventory password, enable secret, a token var, no_log results) never reach
the run database: the whole SQLite file (and WAL) or a PostgreSQL dump is searched for them."""

from __future__ import annotations

import glob
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from hib_orchestrator.db.models import Task, TaskResult
from hib_orchestrator.recording import open_engine
from tests.recording.conftest import Ansible, write_inventory

SECRETS = {
    "ansible_password": "PlantedPass-7f3a9c0d1e",
    "hib_enable_secret": "PlantedEnable-91bd2e77a",
    "planted_token": "PlantedToken-c4e8a1f0b9",
}


def _database_text(db_url: str, home: Path) -> bytes:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return b"".join(Path(p).read_bytes() for p in glob.glob(f"{url.database}*"))
    pg_dump = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))[-1]
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([pg_dump, "--data-only", libpq], capture_output=True, check=True).stdout


def test_secrets_never_reach_the_database(ansible: Ansible, tmp_path: Path, hib: Any) -> None:
    hosts = {f"sec{i}": dict(SECRETS) for i in range(3)}
    proc = ansible.run("secrets.yml", write_inventory(tmp_path / "inv.yml", hosts))
    assert proc.returncode == 0, proc.stderr
    assert SECRETS["planted_token"] in proc.stdout  # the debug really printed it

    dump = _database_text(ansible.db_url, ansible.home)
    assert b"sec1" in dump and b"a no_log task that fails" in dump  # the dump has the records
    for name, value in SECRETS.items():
        assert value.encode() not in dump, f"{name} leaked into the run database"

    with open_engine().connect() as conn:
        rows = conn.execute(
            select(Task.name, TaskResult.status, TaskResult.message)
            .join(Task, Task.id == TaskResult.task_id)
            .where(Task.name == "a no_log task that fails with a secret")
        ).all()
        echoed = conn.execute(
            select(TaskResult.message)
            .join(Task, Task.id == TaskResult.task_id)
            .where(Task.name == "a failure that echoes secrets (not no_log)")
        ).scalars().all()
    assert [(r.status, r.message) for r in rows] == [("failed", "censored")] * 3
    # Inventory secrets echoed by a failing task are masked in the kept message.
    assert echoed == ["login as admin/******** enable ******** failed"] * 3
    assert hib("runs")[0]["status"] == "successful"
