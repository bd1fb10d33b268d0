from __future__ import annotations

from hib_orchestrator.images import catalog


def test_folder_backup_and_change_detection(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "x.png").write_bytes(b"one")
    (src / "b.png").write_bytes(b"two")
    first = runner.run("local-001", name="folder", path=str(src))
    assert (first.status, first.new) == ("ok", 2)
    (src / "b.png").write_bytes(b"two, longer")
    second = runner.run("local-001", name="folder", path=str(src))
    assert (second.changed, second.unchanged) == (1, 1)
    keys = {r["key"] for r in catalog.list_objects(runner.sessions, "folder")}
    assert keys == {"a/x.png", "b.png"}


def test_missing_folder_is_not_found(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("local-001", name="nothing", path=str(tmp_path / "absent"))
    assert (result.status, result.error_code) == ("failed", "NOT_FOUND")
