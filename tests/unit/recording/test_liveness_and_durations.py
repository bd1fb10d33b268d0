"""Dead runs are found by pid (this machine) or stale heartbeat (any machine), never by age."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from hib_orchestrator.db.base import utcnow
from hib_orchestrator.db.engine import create_db_engine
from hib_orchestrator.db.migrate import ensure_schema
from hib_orchestrator.db.models import Run
from hib_orchestrator.errors import ConfigError
from hib_orchestrator.recording import parse_duration, reap_interrupted
from hib_orchestrator.recording.liveness import pid_alive, this_host


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_reaping(tmp_path: Path) -> None:
    import os

    engine = create_db_engine(f"sqlite:///{tmp_path / 'hib.db'}")
    ensure_schema(engine)
    now = utcnow()
    old = now - timedelta(days=3)
    rows = {
        "dead_here": dict(pid=_dead_pid(), hostname=this_host(), heartbeat_at=now),
        "alive_long": dict(pid=os.getpid(), hostname=this_host(), heartbeat_at=now,
                           started_at=old),
        "quiet_here": dict(pid=os.getpid(), hostname=this_host(), heartbeat_at=old),
        "elsewhere_fresh": dict(pid=1, hostname="other-box", heartbeat_at=now),
        "elsewhere_stale": dict(pid=1, hostname="other-box", heartbeat_at=old),
    }
    ids = {}
    with engine.begin() as conn:
        for name, values in rows.items():
            values = {"started_at": now, **values}
            ids[name] = conn.execute(insert(Run).values(status="running", playbook=name,
                                                        **values).returning(Run.id)).scalar_one()
        conn.execute(insert(Run).values(status="successful", playbook="done", started_at=old,
                                        pid=_dead_pid(), hostname=this_host()))
        reaped = reap_interrupted(conn)
    assert sorted(reaped) == sorted([ids["dead_here"], ids["quiet_here"], ids["elsewhere_stale"]])
    with engine.connect() as conn:
        status = dict(conn.execute(select(Run.playbook, Run.status)).all())
    assert status == {"dead_here": "interrupted", "alive_long": "running",
                      "quiet_here": "interrupted", "elsewhere_fresh": "running",
                      "elsewhere_stale": "interrupted", "done": "successful"}
    engine.dispose()


def test_pid_alive() -> None:
    import os

    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())
    assert not pid_alive(0)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86400),
                                               ("7d", 604800), ("2w", 1209600), ("1.5h", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "1x", "-1h", "1 day"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration(text)
