"""The read side of ``hib``: runs, runs show, runs prune, hosts, history, config, diff.

Runs are recorded through the real Recorder into a real SQLite database and configs committed to a
real git store; the commands run in-process through ``hib_orchestrator.cli.main``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, update

from hib_orchestrator.cli import main
from hib_orchestrator.configstore import ConfigStore
from hib_orchestrator.db.base import utcnow
from hib_orchestrator.db.models import ConfigVersion, HostResult, Run
from hib_orchestrator.recording import Recorder, list_hosts, list_runs, open_engine
from hib_orchestrator.settings import load_settings

RUN_FIELDS = {"id", "status", "started_at", "finished_at", "playbook", "hosts_total", "ok",
              "changed", "failed", "unreachable"}
SHOW_FIELDS = {"id", "status", "started_at", "finished_at", "playbook", "hosts"}
HOST_FIELDS = {"host", "kind", "status", "changed", "error_code", "error_message", "duration_s",
               "attempts", "sha256", "size_bytes", "commit", "objects"}
HOSTS_FIELDS = {"host", "kind", "last_status", "last_success_at", "age_s", "stale"}
HISTORY_FIELDS = {"commit", "run_id", "committed_at", "sha256", "size_bytes"}


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("HIB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HIB_DB_URL", raising=False)
    monkeypatch.delenv("HIB_CONFIG_STORE", raising=False)
    return open_engine()


def record(engine: Engine, results: dict[str, tuple[str, dict[str, Any]]],
           playbook: str = "playbooks/backup.yml", final: str | None = None,
           commit: dict[str, Any] | None = None, at: dict[str, datetime] | None = None) -> int:
    """One run through the real Recorder: ``results`` maps host -> (event status, result);
    ``at`` gives some hosts' result times (default now)."""
    rec = Recorder(engine, flush_interval=0.05)
    run_id = rec.start_run(playbook)
    rec.play_start("backup")
    rec.task_start("t1", "device config", "hib.orchestrator.device_config")
    for host, (status, result) in results.items():
        rec.host_start("t1", host)
        rec.result("t1", host, status, result, at=(at or {}).get(host))
    if commit is not None:
        rec.task_start("t2", "commit", "hib.orchestrator.config_commit")
        rec.result("t2", next(iter(results)), "ok", {"hib_kind": "commit", **commit})
    failed = any(s in ("failed", "unreachable") for s, _ in results.values())
    rec.finish(final or ("failed" if failed else "successful"))
    return run_id


def device(changed: bool = True, **more: Any) -> dict[str, Any]:
    return {"hib_kind": "device", "changed": changed, "attempts": 1, "duration_s": 0.5,
            "sha256": "0" * 64, "size_bytes": 10, "commit": None, **more}


def run_hib(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def hib_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    rc, out, err = run_hib(capsys, *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


def test_runs_lists_newest_first_with_counts(engine: Engine, capsys: Any) -> None:
    first = record(engine, {"a": ("ok", device(changed=False)), "b": ("ok", device())})
    second = record(engine, {
        "a": ("ok", device()),
        "b": ("failed", device(failed=True, error_code="AUTH_FAILED", msg="bad password")),
        "c": ("unreachable", {"msg": "no route"}),
    })
    runs = hib_json(capsys, "runs")
    assert [r["id"] for r in runs] == [second, first]
    for r in runs:
        assert set(r) >= RUN_FIELDS
    assert {k: runs[0][k] for k in ("status", "hosts_total", "ok", "changed", "failed",
                                    "unreachable")} == {
        "status": "failed", "hosts_total": 3, "ok": 0, "changed": 1, "failed": 1,
        "unreachable": 1}
    assert (runs[1]["status"], runs[1]["ok"], runs[1]["changed"]) == ("successful", 1, 1)
    assert [r["id"] for r in hib_json(capsys, "runs", "--limit", "1")] == [second]


def test_runs_show_has_every_contract_field(engine: Engine, capsys: Any) -> None:
    run_id = record(engine, {
        "r1": ("ok", device()),
        "r2": ("failed", device(failed=True, error_code="TIMEOUT", msg="no answer")),
        "img": ("ok", {"hib_kind": "provider", "changed": True,
                       "objects": {"new": 2, "changed": 0, "unchanged": 5,
                                   "deleted_upstream": 1, "failed": 0, "bytes": 99}}),
    })
    for ref in ("latest", str(run_id)):
        shown = hib_json(capsys, "runs", "show", ref)
        assert set(shown) >= SHOW_FIELDS
        assert shown["id"] == run_id and shown["status"] == "failed"
        rows = {h["host"]: h for h in shown["hosts"]}
        assert all(set(h) >= HOST_FIELDS for h in shown["hosts"])
    assert (rows["r2"]["status"], rows["r2"]["error_code"], rows["r2"]["error_message"]) == (
        "failed", "TIMEOUT", "no answer")
    assert rows["img"]["kind"] == "provider" and rows["img"]["objects"]["deleted_upstream"] == 1
    assert rows["r1"]["kind"] == "device" and rows["r1"]["sha256"] == "0" * 64


@pytest.mark.parametrize("ref", ["999", "abc", "0"])
def test_unknown_run_is_exit_2_with_one_line(engine: Engine, capsys: Any, ref: str) -> None:
    record(engine, {"a": ("ok", device())})
    rc, out, err = run_hib(capsys, "runs", "show", ref, "--json")
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("hib: error:")


def test_runs_show_latest_on_an_empty_database_is_exit_2(engine: Engine, capsys: Any) -> None:
    rc, _, err = run_hib(capsys, "runs", "show", "latest")
    assert rc == 2 and "no runs" in err


def test_human_tables(engine: Engine, capsys: Any) -> None:
    record(engine, {"edge-1": ("failed", device(failed=True, error_code="AUTH_FAILED",
                                                msg="denied"))})
    rc, out, _ = run_hib(capsys, "runs")
    assert rc == 0 and "failed" in out and "playbooks/backup.yml" in out
    rc, out, _ = run_hib(capsys, "runs", "show", "latest")
    assert rc == 0 and "edge-1" in out and "AUTH_FAILED" in out
    rc, out, _ = run_hib(capsys, "hosts")
    assert rc == 0 and "edge-1" in out and "stale" in out


def test_hosts_last_status_success_and_staleness(engine: Engine, capsys: Any) -> None:
    # The successful backup of "old" was two days ago.
    record(engine, {"fresh": ("ok", device()), "old": ("ok", device()),
                    "never": ("failed", device(failed=True, error_code="AUTH_FAILED"))},
           at={"old": utcnow() - timedelta(days=2)})
    record(engine, {"fresh": ("ok", device(changed=False)),
                    "old": ("unreachable", {"msg": "down"})})
    hosts = {h["host"]: h for h in hib_json(capsys, "hosts")}
    assert all(set(h) >= HOSTS_FIELDS for h in hosts.values())
    assert (hosts["fresh"]["last_status"], hosts["fresh"]["stale"]) == ("ok", False)
    assert (hosts["old"]["last_status"], hosts["old"]["stale"]) == ("unreachable", True)
    assert hosts["old"]["age_s"] > 47 * 3600
    assert (hosts["never"]["last_success_at"], hosts["never"]["age_s"]) == (None, None)
    assert hosts["fresh"]["kind"] == "device"
    assert [h["host"] for h in hib_json(capsys, "hosts", "--stale", "24h")] == ["never", "old"]
    assert [h["host"] for h in hib_json(capsys, "hosts", "--stale", "3d")] == ["never"]


@pytest.mark.parametrize("bad", ["1x", "abc", "", "-5m", "24"])
def test_bad_durations_are_exit_2(engine: Engine, capsys: Any, bad: str) -> None:
    rc, _, err = run_hib(capsys, "hosts", "--stale", bad)
    assert rc == 2 and "not a duration" in err
    rc, _, err = run_hib(capsys, "runs", "prune", "--older-than", bad)
    assert rc == 2 and "not a duration" in err


def test_prune_older_than_and_keep_last(engine: Engine, capsys: Any) -> None:
    ids = [record(engine, {"p1": ("ok", device())}) for _ in range(5)]
    store = ConfigStore(load_settings().config_store)
    with engine.begin() as conn:  # the first three runs are old
        conn.execute(update(Run).where(Run.id.in_(ids[:3]))
                     .values(started_at=utcnow() - timedelta(days=10)))
        conn.execute(ConfigVersion.__table__.insert().values(
            host="p1", commit="a" * 40, run_id=ids[0], committed_at=utcnow()))
    assert store is not None
    assert hib_json(capsys, "runs", "prune", "--older-than", "7d", "--keep-last", "4") == {
        "runs_removed": 1}
    assert [r["id"] for r in hib_json(capsys, "runs")] == ids[:0:-1]
    assert hib_json(capsys, "runs", "prune", "--older-than", "7d") == {"runs_removed": 2}
    assert hib_json(capsys, "runs", "prune", "--keep-last", "1") == {"runs_removed": 1}
    assert [r["id"] for r in hib_json(capsys, "runs")] == [ids[-1]]
    # The config history index outlives the pruned run.
    assert hib_json(capsys, "history", "p1")[0]["run_id"] is None
    rc, _, err = run_hib(capsys, "runs", "prune")
    assert rc == 2 and "--older-than" in err


def test_listings_are_a_fixed_number_of_queries(engine: Engine) -> None:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args, **kw: statements.append(args[2]))

    def count() -> tuple[int, int]:
        statements.clear()
        with engine.connect() as conn:
            list_runs(conn, limit=100)
            runs_n = len(statements)
            statements.clear()
            list_hosts(conn)
            return runs_n, len(statements)

    record(engine, {f"h{i}": ("ok", device()) for i in range(3)})
    small = count()
    for n in range(8):
        record(engine, {f"h{i}": ("ok", device()) for i in range(20 + n)})
    assert count() == small == (2, 1)


def _commit_configs(run_id: int, configs: dict[str, str]) -> dict[str, Any]:
    store = ConfigStore(load_settings().config_store)
    staging = store.staging(str(run_id))
    for host, text in configs.items():
        staging.put(host, text, hashlib.sha256(text.encode()).hexdigest())
    result = store.commit_run(str(run_id))
    return {"commit": result.commit, "hosts": result.hosts}


def _backup(engine: Engine, configs: dict[str, str]) -> tuple[int, str]:
    # Like the playbook: the run exists first, the commit comes last and names the hosts.
    rec = Recorder(engine, flush_interval=0.05)
    run_id = rec.start_run("playbooks/backup.yml")
    rec.task_start("t1", "device config", "hib.orchestrator.device_config")
    for host, text in configs.items():
        rec.result("t1", host, "ok", device(
            sha256=hashlib.sha256(text.encode()).hexdigest(), size_bytes=len(text)))
    commit = _commit_configs(run_id, configs)
    rec.task_start("t2", "commit", "hib.orchestrator.config_commit")
    rec.result("t2", "sw1", "ok", {"hib_kind": "commit", "changed": True, **commit})
    rec.finish("successful")
    return run_id, commit["commit"]


def test_history_config_and_diff(engine: Engine, capsys: Any) -> None:
    v1 = "hostname sw1\ninterface Gi1\n shutdown\nend\n"
    v2 = "hostname sw1\ninterface Gi1\n no shutdown\nend\n"
    run1, commit1 = _backup(engine, {"sw1": v1, "sw2": "hostname sw2\nend\n"})
    run2, commit2 = _backup(engine, {"sw1": v2})

    history = hib_json(capsys, "history", "sw1")
    assert all(set(v) >= HISTORY_FIELDS for v in history)
    assert [(v["commit"], v["run_id"]) for v in history] == [(commit2, run2), (commit1, run1)]
    assert history[0]["sha256"] == hashlib.sha256(v2.encode()).hexdigest()
    assert history[0]["size_bytes"] == len(v2)
    assert [v["run_id"] for v in hib_json(capsys, "history", "sw2")] == [run1]
    with engine.connect() as conn:
        shown = {h.host: h.commit for h in conn.execute(
            select(HostResult).where(HostResult.run_id == run2))}
    assert shown == {"sw1": commit2}

    rc, out, _ = run_hib(capsys, "config", "sw1")
    assert (rc, out) == (0, v2)
    rc, out, _ = run_hib(capsys, "config", "sw1", "--rev", commit1)
    assert (rc, out) == (0, v1)
    rc, out, _ = run_hib(capsys, "diff", "sw1")
    assert rc == 0
    assert "-shutdown" in out.replace(" ", "") and "+noshutdown" in out.replace(" ", "")
    rc, out, _ = run_hib(capsys, "diff", "sw1", commit2, commit1)
    assert rc == 0 and "+ shutdown" in out

    for argv in (["history", "nosuch"], ["config", "nosuch"], ["diff", "nosuch"],
                 ["config", "sw1", "--rev", "f" * 40]):
        rc, out, err = run_hib(capsys, *argv)
        assert rc == 2, argv
        assert len(err.strip().splitlines()) == 1


def test_diff_leaves_volatile_lines_out_unless_all(engine: Engine, capsys: Any) -> None:
    v1 = "! Last configuration change at 10:00:01 UTC Tue Nov 24 2026\nhostname sw9\nend\n"
    v2 = "! Last configuration change at 11:42:17 UTC Tue Nov 24 2026\nhostname sw9-new\nend\n"
    _backup(engine, {"sw9": v1})
    _backup(engine, {"sw9": v2})
    rc, out, _ = run_hib(capsys, "diff", "sw9")
    assert rc == 0
    assert "+hostname sw9-new" in out and "-hostname sw9" in out
    assert "Last configuration change" not in out
    rc, out, _ = run_hib(capsys, "diff", "sw9", "--all")
    assert rc == 0 and "+! Last configuration change at 11:42:17" in out


def test_large_tables_are_plain_aligned_text(engine: Engine, capsys: Any) -> None:
    from hib_orchestrator.cli.tables import PLAIN_ROWS

    many = PLAIN_ROWS + 1
    results = {f"sw-{i:04d}": ("ok", device(changed=i % 3 == 0)) for i in range(many - 1)}
    results["core-x"] = ("failed", device(failed=True, error_code="AUTH_FAILED", msg="denied"))
    record(engine, results)

    rc, out, _ = run_hib(capsys, "hosts")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("hosts (stale: no success within 24h)")
    header, rule, rows, footer = lines[1], lines[2], lines[3:-1], lines[-1]
    assert header.split() == ["host", "kind", "last", "status", "last", "success", "(UTC)",
                              "age", "stale"]
    assert set(rule) <= {"-", " "} and footer == f"({many} rows)"
    assert not set(out) & set("│┃━─┏┗")  # no rich box drawing, no markup
    assert "[" not in out.replace("(UTC)", "")
    assert len(rows) == many and sorted(r.split()[0] for r in rows) == sorted(results)
    status_at = header.index("last status")
    for row in rows:  # every column starts where its header does
        status = row[status_at:].split()[0]
        assert status == ("failed" if row.startswith("core-x") else
                          "changed" if int(row.split()[0][3:]) % 3 == 0 else "ok")
        assert row.rstrip().endswith("fresh") == (status != "failed")

    rc, out, _ = run_hib(capsys, "runs", "show", "latest")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("run ") and lines[-1] == f"({many} rows)"
    failed = [line for line in lines if line.startswith("core-x")]
    assert len(failed) == 1 and "AUTH_FAILED denied" in failed[0]


def test_small_tables_stay_rich(engine: Engine, capsys: Any) -> None:
    record(engine, {"a": ("ok", device()), "b": ("ok", device(changed=False))})
    rc, out, _ = run_hib(capsys, "hosts")
    assert rc == 0 and "┃" in out and "rows)" not in out


def test_plain_text_aligns_numbers_right() -> None:
    from hib_orchestrator.cli.tables import Col, Grid, plain_text

    grid = Grid("t", [Col("name"), Col("n", right=True), Col("note")],
                [["a", "5", "x"], ["longer", "1234", "-"]])
    assert plain_text(grid).splitlines() == [
        "t",
        "name       n  note",
        "------  ----  ----",
        "a          5  x",
        "longer  1234  -",
        "(2 rows)",
    ]
