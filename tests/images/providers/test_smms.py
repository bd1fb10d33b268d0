"""SM.MS against its stand-in: paging, Authorization header, size verification."""

from __future__ import annotations

from hib_orchestrator.images import catalog


def test_full_then_no_change_across_pages(runner, standins) -> None:  # type: ignore[no-untyped-def]
    first = runner.run("smms-001")
    assert (first.status, first.new, first.failed) == ("ok", 28, 0)
    pages = [p for m, p in standins.requests("smms") if p == "/api/v2/upload_history"]
    assert len(pages) == 3  # 28 images, 10 per page
    standins.reset("smms")
    second = runner.run("smms-001")
    assert (second.unchanged, second.bytes) == (28, 0)
    assert runner.downloads("smms", "/i/") == []


def test_same_file_name_in_different_folders_stays_apart(runner) -> None:  # type: ignore[no-untyped-def]
    runner.run("smms-001")
    rows = catalog.list_objects(runner.sessions, "smms-001")
    same = [r for r in rows if r["key"].endswith("/img-000.png")]
    assert len(same) >= 2
    assert len({r["key"] for r in same}) == len(same)
    assert len({r["sha256"] for r in same}) == len(same)


def test_bad_token_is_auth_failed(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("smms-001", token="smms-wrong-token-000")
    assert (result.status, result.error_code) == ("failed", "AUTH_FAILED")


def test_rate_limited_listing_waits_and_succeeds(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("smms", "429", match="/api/v2/upload_history", times=1, retry_after=1)
    result = runner.run("smms-001")
    assert (result.status, result.new) == ("ok", 28)
    assert max(runner.sleeps) >= 1


def test_persistent_429_is_rate_limited(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("smms", "429", match="/api/v2/upload_history", times=10, retry_after=0.1)
    result = runner.run("smms-001", attempts=2)
    assert (result.status, result.error_code) == ("failed", "RATE_LIMITED")


def test_short_body_without_checksum_is_caught_by_size(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("smms", "length", match="/i/2024/05/01/img-001", times=10)
    result = runner.run("smms-001", attempts=2)
    assert result.status == "partial"
    assert result.error_code == "CHECKSUM_MISMATCH"
    assert result.failures[0]["key"].startswith("2024/05/01/img-001")
