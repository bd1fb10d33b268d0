"""``hib images ls/restore/snapshots``, ``hib verify``, ``hib prune`` through the real CLI entry."""

from __future__ import annotations

import json

from hib_orchestrator.cli import main


def _json(capsys, argv: list[str]) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_ls_restore_verify_prune(runner, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = runner.run("smms-001")
    runner.run("smms-001")

    code, rows = _json(capsys, ["images", "ls", "smms-001", "--json"])
    assert code == 0 and len(rows) == 28
    assert set(rows[0]) >= {
        "key",
        "size_bytes",
        "sha256",
        "first_seen_run",
        "last_seen_run",
        "deleted_upstream",
    }
    code, old = _json(
        capsys, ["images", "ls", "smms-001", "--snapshot", str(first.snapshot_id), "--json"]
    )
    assert code == 0 and {r["key"] for r in old} == {r["key"] for r in rows}

    code, doc = _json(
        capsys, ["images", "restore", "smms-001", "--to", str(tmp_path / "r"), "--json"]
    )
    assert code == 0 and doc == {"files": 28, "bytes": sum(r["size_bytes"] for r in rows)}
    assert (tmp_path / "r" / rows[0]["key"]).stat().st_size == rows[0]["size_bytes"]

    code, snaps = _json(capsys, ["images", "snapshots", "smms-001", "--json"])
    assert [s["status"] for s in snaps] == ["ok", "ok"]

    code, doc = _json(capsys, ["verify", "--json"])
    assert code == 0 and doc == {"checked": 28, "corrupt": [], "missing": []}
    sha, path = next(runner.store.iter_files())
    path.write_bytes(b"rot")
    code, doc = _json(capsys, ["verify", "--sample", "100", "--json"])
    assert code == 1 and doc["corrupt"] == [sha]

    code, doc = _json(capsys, ["prune", "--keep-last", "1", "--json"])
    assert code == 0 and doc == {"snapshots_removed": 1, "blobs_removed": 0, "bytes_freed": 0}


def test_snapshot_is_selected_by_run_id(runner, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hib_orchestrator.images import backup

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.png").write_bytes(b"a")
    backup(
        "runs", "local", {"path": str(src)}, store=runner.store, sessions=runner.sessions, run_id=77
    )
    (src / "b.png").write_bytes(b"b")
    backup(
        "runs", "local", {"path": str(src)}, store=runner.store, sessions=runner.sessions, run_id=78
    )
    code, rows = _json(capsys, ["images", "ls", "runs", "--snapshot", "77", "--json"])
    assert code == 0 and [(r["key"], r["first_seen_run"]) for r in rows] == [("a.png", 77)]
    code, rows = _json(capsys, ["images", "ls", "runs", "--json"])
    assert {(r["key"], r["first_seen_run"], r["last_seen_run"]) for r in rows} == {
        ("a.png", 77, 78),
        ("b.png", 78, 78),
    }
    assert main(["images", "ls", "runs", "--snapshot", "999"]) == 2


def test_bad_input_is_exit_2_with_one_line(runner, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["images", "ls", "no-such-host"]) == 2
    err = capsys.readouterr().err
    assert "no-such-host" in err and len(err.strip().splitlines()) == 1
    assert main(["prune", "--keep-last", "0"]) == 2
    assert main(["verify", "--sample", "0"]) == 2


def test_human_output(runner, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner.run("local-001")
    assert main(["images", "ls", "local-001"]) == 0
    out = capsys.readouterr().out
    assert "old/2019/img-000" in out
    assert main(["verify"]) == 0
    assert "checked 13 blobs: 0 corrupt, 0 missing" in capsys.readouterr().out
