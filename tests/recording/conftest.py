"""Fixtures: a database per test (SQLite file, or a fresh PostgreSQL database when
HIB_TEST_PG_URL is set), inventories of many local hosts, and a real ansible-playbook runner."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = Path(__file__).parent / "playbooks"
VENV_BIN = Path(sys.executable).parent
PG_URL = os.environ.get("HIB_TEST_PG_URL")
UNREACHABLE = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1}


def _pg_database() -> Iterator[str]:
    assert PG_URL
    name = f"hib_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        from hib_orchestrator.db import engine as engines

        for key, engine in list(engines._ENGINES.items()):
            if name in key[0]:
                engine.dispose()
                engines._ENGINES.pop(key, None)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty run database for one test, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'hib.db'}"
        return
    if not PG_URL:
        pytest.skip("HIB_TEST_PG_URL is not set (run under .ci/with-postgres.sh)")
    yield from _pg_database()


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database (skips without HIB_TEST_PG_URL)."""
    if not PG_URL:
        pytest.skip("HIB_TEST_PG_URL is not set (run under .ci/with-postgres.sh)")
    yield from _pg_database()


def write_inventory(path: Path, hosts: Mapping[str, Mapping[str, Any]],
                    all_vars: Mapping[str, Any] | None = None) -> Path:
    """A static YAML inventory; hosts default to the local connection; hosts with
    ``outcome: unreachable`` also form the group ``unreachable``."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    unreachable = {n: None for n, v in hosts.items() if v.get("outcome") == "unreachable"}
    doc = {"all": {"hosts": {name: {**local, **dict(v)} for name, v in hosts.items()},
                   "vars": dict(all_vars or {}),
                   "children": {"unreachable": {"hosts": unreachable}}}}
    path.write_text(yaml.safe_dump(doc))
    return path


def kill_leftovers(marker: Path | str) -> list[int]:
    """SIGKILL processes of this test whose command line names ``marker`` (a unique path).

    Ansible workers run in their own sessions; when a test kills the controller with SIGKILL (as
    ``kill -9`` or an ansible-runner cancel does), a worker in a long task would outlive it.
    """
    import signal as _signal

    needle = str(marker).encode()
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), _signal.SIGKILL)
                killed.append(int(entry.name))
        except OSError:
            continue
    return killed


@dataclass
class Ansible:
    """Runs real ansible-playbook with the repository's ansible.cfg (recorder enabled)."""

    home: Path
    db_url: str
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **more: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HIB_", "ANSIBLE_"))}
        env.update(
            PATH=f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}",
            HIB_HOME=str(self.home),
            HIB_DB_URL=self.db_url,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_SSH_ARGS="-o ControlMaster=no -o ConnectTimeout=5",
        )
        env.update(self.extra_env)
        env.update(more)
        return env

    def command(self, playbook: str, inventory: Path, *args: str) -> list[str]:
        return [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory),
                str(PLAYBOOKS / playbook), *args]

    def run(self, playbook: str, inventory: Path, *args: str,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(playbook, inventory, *args), cwd=REPO, env=self.env(**(env or {})),
            capture_output=True, text=True, timeout=300, check=False,
        )

    def start(self, playbook: str, inventory: Path, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(playbook, inventory, *args), cwd=REPO, env=self.env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )


@pytest.fixture
def ansible(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Ansible:
    """ansible-playbook against this test's database; ``hib`` in-process sees the same one."""
    home = tmp_path / "home"
    monkeypatch.setenv("HIB_HOME", str(home))
    monkeypatch.setenv("HIB_DB_URL", db_url)
    monkeypatch.delenv("HIB_RUN_ID", raising=False)
    return Ansible(home=home, db_url=db_url)


@pytest.fixture
def hib(capsys: pytest.CaptureFixture[str]) -> Any:
    """``hib(*argv)``: run ``hib ARGV --json`` in-process, assert exit 0, return the document."""
    import json

    from hib_orchestrator.cli import main

    def run(*argv: str) -> Any:
        capsys.readouterr()
        rc = main([*argv, "--json"])
        captured = capsys.readouterr()
        assert rc == 0, captured.err
        return json.loads(captured.out)

    return run
