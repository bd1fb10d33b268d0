"""The light read path (``cli/quick.py`` over ``recording/sqlite_reads.py``) answers exactly as
the typer + SQLAlchemy path does, and hands over to it whenever it cannot vouch for the answer.

The same SQLite file is read through ``sqlite:///PATH`` (the light path) and through
``sqlite+pysqlite:///PATH`` (a URL the light path declines, so typer and SQLAlchemy answer), and
the outputs are compared. PostgreSQL (``HIB_DB_URL``) keeps working through SQLAlchemy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text, update
from sqlalchemy.engine import make_url

from hib_orchestrator.cli import main
from hib_orchestrator.cli.quick import parse
from hib_orchestrator.db.base import utcnow
from hib_orchestrator.db.migrate import downgrade, packaged_heads
from hib_orchestrator.db.models import Run
from hib_orchestrator.recording import Recorder, open_engine, queries, sqlite_reads
from hib_orchestrator.recording.liveness import STALE_AFTER_S
from hib_orchestrator.settings import load_settings

FAST = "sqlite:///{}"
SLOW = "sqlite+pysqlite:///{}"  # the same file; the light path declines this URL


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home" / "hib.db"
    monkeypatch.setenv("HIB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HIB_DB_URL", FAST.format(path))
    monkeypatch.delenv("HIB_CONFIG_STORE", raising=False)
    return path


def _device(changed: bool = True, **more: Any) -> dict[str, Any]:
    return {"hib_kind": "device", "changed": changed, "attempts": 1, "duration_s": 0.5,
            "sha256": "0" * 64, "size_bytes": 10, **more}


def _record(engine: Engine, results: dict[str, tuple[str, dict[str, Any]]],
            commit: dict[str, Any] | None = None, days_ago: float = 3.03) -> int:
    # Results a few days old, mid-way between two "x.yd" ages, so both paths print one age.
    at = utcnow() - timedelta(days=days_ago)
    rec = Recorder(engine, flush_interval=0.05)
    run_id = rec.start_run("playbooks/backup.yml")
    rec.play_start("backup")
    rec.task_start("t1", "device config", "hib.orchestrator.device_config")
    for host, (status, result) in results.items():
        rec.result("t1", host, status, result, at=at)
    if commit is not None:
        rec.task_start("t2", "commit", "hib.orchestrator.config_commit")
        rec.result("t2", next(iter(results)), "ok", {"hib_kind": "commit", **commit}, at=at)
    rec.finish("failed" if any(s != "ok" for s, _ in results.values()) else "successful")
    return run_id


def _fleet(engine: Engine) -> None:
    _record(engine, {"r1": ("ok", _device()), "r2": ("ok", _device(changed=False))},
            commit={"changed": True, "commit": "a" * 40, "hosts": ["r1"]}, days_ago=5.03)
    _record(engine, {
        "r1": ("ok", _device()),
        "r2": ("failed", _device(failed=True, error_code="AUTH_FAILED", msg="denied")),
        "r3": ("unreachable", {"msg": "no route", "error_code": "UNREACHABLE"}),
        "img": ("ok", {"hib_kind": "provider", "changed": True,
                       "objects": {"new": 2, "changed": 0, "unchanged": 5, "bytes": 99}}),
    }, commit={"changed": True, "commit": "b" * 40, "hosts": ["r1"]})


def _hib(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _both(db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          *argv: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    fast = _hib(capsys, *argv)
    monkeypatch.setenv("HIB_DB_URL", SLOW.format(db))
    slow = _hib(capsys, *argv)
    monkeypatch.setenv("HIB_DB_URL", FAST.format(db))
    return fast, slow


def _same_but_age(one: list[dict[str, Any]], other: list[dict[str, Any]]) -> None:
    """Equal host lists, the ages within a minute of each other (read at different times)."""
    for a, b in zip(one, other, strict=True):
        age_a, age_b = a.pop("age_s"), b.pop("age_s")
        assert (age_a is None) == (age_b is None)
        assert age_a is None or abs(age_a - age_b) < 60
        assert a == b


READS = [
    ("runs",), ("runs", "--json"), ("runs", "--limit", "1", "--json"), ("runs", "--limit=1"),
    ("runs", "show", "latest"), ("runs", "show", "latest", "--json"), ("runs", "show", "1"),
    ("hosts",), ("hosts", "--stale", "4d"), ("hosts", "--stale=1h", "--json"),
    ("history", "r1"), ("history", "r1", "--json"), ("history", "--limit", "1", "r1", "--json"),
]


@pytest.mark.parametrize("argv", READS, ids=" ".join)
def test_light_and_sqlalchemy_paths_print_the_same(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, argv: tuple[str, ...]
) -> None:
    _fleet(open_engine())
    fast, slow = _both(db, monkeypatch, capsys, *argv)
    assert fast[0] == slow[0] == 0, (fast[2], slow[2])
    if argv[0] == "hosts" and "--json" in argv:  # ages differ by the time between the calls
        docs = [json.loads(out) for _, out, _ in (fast, slow)]
        _same_but_age(*docs)
        assert docs[0]
    else:
        assert fast[1] == slow[1] and fast[1]


@pytest.mark.parametrize("argv", [("runs", "show", "999"), ("runs", "show", "abc"),
                                  ("hosts", "--stale", "soon"), ("runs", "--limit", "0"),
                                  ("history", "nobody"), ("runs", "show")], ids=" ".join)
def test_errors_are_the_same_on_both_paths(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, argv: tuple[str, ...]
) -> None:
    _fleet(open_engine())
    fast, slow = _both(db, monkeypatch, capsys, *argv)
    assert fast == slow
    assert fast[0] == 2 and fast[1] == "" and fast[2].strip()


def test_the_sqlite3_queries_return_what_the_core_queries_return(db: Path) -> None:
    engine = open_engine()
    _fleet(engine)
    conn = sqlite_reads.open_reader(load_settings())
    assert conn is not None
    with engine.connect() as core:
        assert sqlite_reads.list_runs(conn, 5) == queries.list_runs(core, 5)
        assert sqlite_reads.list_runs(conn, None) == queries.list_runs(core, None)
        for ref in ("latest", "1"):
            assert sqlite_reads.show_run(conn, ref) == queries.show_run(core, ref)
        for host in ("r1", "r3", "nobody"):
            assert sqlite_reads.history(conn, host) == queries.history(core, host)
            assert sqlite_reads.known_host(conn, host) == queries.known_host(core, host)
        light = sqlite_reads.list_hosts(conn, stale_after_s=3600.0)
        core_hosts = queries.list_hosts(core, stale_after_s=3600.0)
        _same_but_age(light, core_hosts)
    conn.close()


def test_read_commands_import_neither_typer_nor_sqlalchemy(db: Path) -> None:
    # rich loads only to draw a small table; --json and large tables need none of them.
    _fleet(open_engine())
    code = ("import sys; from hib_orchestrator.cli import main; rc = main(sys.argv[1:]); "
            "heavy = sorted({'typer', 'sqlalchemy', 'pydantic', 'rich'} & set(sys.modules)); "
            "print(rc, heavy, file=sys.stderr)")
    for argv in (["hosts", "--json"], ["runs", "show", "latest", "--json"],
                 ["history", "r1", "--json"], ["hosts", "--stale", "1d", "--json"]):
        proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                              text=True, check=True, env=os.environ.copy())
        assert proc.stderr.strip().splitlines()[-1] == "0 []", (argv, proc.stderr)


def test_a_database_behind_the_packaged_schema_is_migrated_first(
    db: Path, capsys: Any
) -> None:
    engine = open_engine()
    _fleet(engine)
    downgrade(engine, "0003_run_keys")  # host_status gone: only a migration brings it back
    assert sqlite_reads.open_reader(load_settings()) is None
    rc, out, err = _hib(capsys, "hosts", "--json")
    assert rc == 0, err
    assert {h["host"] for h in json.loads(out)} == {"r1", "r2", "r3", "img"}
    conn = sqlite_reads.open_reader(load_settings())
    assert conn is not None  # back at the head: the light path answers again
    assert {r for (r,) in conn.execute("SELECT version_num FROM alembic_version")} == set(
        packaged_heads())
    conn.close()


def test_no_database_yet_is_created_as_before(db: Path, capsys: Any) -> None:
    assert not db.exists()
    rc, out, err = _hib(capsys, "runs", "--json")
    assert (rc, json.loads(out)) == (0, []), err
    assert db.exists()


def test_a_dead_running_run_is_reaped_before_it_is_shown(db: Path, capsys: Any) -> None:
    engine = open_engine()
    run_id = Recorder(engine).start_run("playbooks/backup.yml")
    with engine.begin() as conn:  # its writer "died": a pid that cannot be alive
        conn.execute(update(Run).where(Run.id == run_id).values(pid=2**22 + 1))
    assert sqlite_reads.open_reader(load_settings()) is None
    rc, out, _ = _hib(capsys, "runs", "--json")
    assert rc == 0 and json.loads(out)[0]["status"] == "interrupted"


def test_a_live_running_run_stays_running_on_the_light_path(db: Path, capsys: Any) -> None:
    engine = open_engine()
    Recorder(engine).start_run("playbooks/backup.yml")  # this process, heartbeat now
    conn = sqlite_reads.open_reader(load_settings())
    assert conn is not None
    conn.close()
    rc, out, _ = _hib(capsys, "runs", "--json")
    assert rc == 0 and json.loads(out)[0]["status"] == "running"
    assert sqlite_reads.FRESH_HEARTBEAT_S < STALE_AFTER_S


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://hib@db/hib", "sqlite://", "sqlite:///:memory:",
    "sqlite+pysqlite:////x.db", "sqlite:////x.db?mode=ro", "sqlite:////a%20b.db",
])
def test_urls_the_light_path_leaves_to_sqlalchemy(url: str) -> None:
    assert sqlite_reads.sqlite_path(url) is None


@pytest.mark.parametrize("argv", [
    [], ["--help"], ["hosts", "--help"], ["hosts", "--json", "--json"], ["hosts", "x"],
    ["hosts", "--stale"], ["hosts", "--stale", "--json"], ["hosts", "--stale", "1d", "--stale",
                                                           "2d"],
    ["runs", "--limit", "0"], ["runs", "--limit", "x"], ["runs", "--limit", "²"],
    ["runs", "prune", "--keep-last", "1"], ["runs", "show"], ["runs", "show", "1", "2"],
    ["runs", "show", "--", "1"], ["history"], ["history", "-x"], ["diff", "r1"],
    ["--version"], ["runs", "--json", "show", "1"],
], ids=repr)
def test_anything_but_the_plain_forms_goes_to_typer(argv: list[str]) -> None:
    assert parse(argv) is None


def test_the_plain_forms_are_recognised() -> None:
    call = parse(["history", "--limit=3", "r1", "--json"])
    assert call is not None
    assert (call.words, call.args, call.options, call.as_json) == (
        ("history",), ["r1"], {"--limit": "3"}, True)
    call = parse(["runs", "show", "latest"])
    assert call is not None and (call.words, call.args, call.as_json) == (
        ("runs", "show"), ["latest"], False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    admin_url = os.environ.get("HIB_TEST_PG_URL")
    if not admin_url:
        pytest.skip("HIB_TEST_PG_URL is not set (run under .ci/with-postgres.sh)")
    name = f"hib_q_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        from hib_orchestrator.db import engine as engines

        for key, engine in list(engines._ENGINES.items()):
            if name in key[0]:
                engine.dispose()
                engines._ENGINES.pop(key, None)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_reads_go_through_sqlalchemy(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("HIB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HIB_DB_URL", pg_url)
    assert sqlite_reads.open_reader(load_settings()) is None
    _fleet(open_engine())
    rc, out, err = _hib(capsys, "runs", "show", "latest", "--json")
    assert rc == 0, err
    assert {h["host"] for h in json.loads(out)["hosts"]} == {"r1", "r2", "r3", "img"}
    rc, out, _ = _hib(capsys, "history", "r1", "--json")
    assert rc == 0 and [v["commit"] for v in json.loads(out)] == ["b" * 40, "a" * 40]
    rc, out, _ = _hib(capsys, "hosts", "--stale", "4d", "--json")
    assert rc == 0 and {h["host"] for h in json.loads(out)} == {"r2", "r3"}
