"""GitHub: mirror mode over a real bare repository, API mode against the REST stand-in."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from hib_orchestrator.standins.github import GithubApp, commit_files


@pytest.fixture
def own_repo(tmp_path, standins) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """A private bare repo (tests here change it) plus an API server over it."""
    bare = tmp_path / "gh" / "me" / "pics.git"
    commit_files(
        bare,
        {
            "2023/a.png": b"\x89PNG 2023 a",
            "2024/a.png": b"\x89PNG 2024 a!",
            "deep/er/x.jpg": b"\xff\xd8 x",
        },
    )
    app = GithubApp(tmp_path / "gh", "tok-for-tests-123", "", truncate_at=2)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.base_url = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"bare": str(bare), "api": app.base_url}
    finally:
        server.shutdown()
        thread.join()


def test_mirror_full_then_no_change(runner) -> None:  # type: ignore[no-untyped-def]
    first = runner.run("github-001")
    assert (first.status, first.new, first.failed) == ("ok", 23, 0)
    second = runner.run("github-001")
    assert (second.new, second.changed, second.unchanged, second.bytes) == (0, 0, 23, 0)


def test_mirror_keeps_token_out_of_the_clone(runner, standins) -> None:  # type: ignore[no-untyped-def]
    runner.run("github-001")
    mirror = runner.store.root / "work" / "github-001" / "mirror.git"
    config = (mirror / "config").read_text()
    token = standins.hosts["github-001"]["hib_token"]
    assert token not in config
    assert "remote" in config


def test_mirror_tracks_changes_deletions_and_basename_collisions(runner, own_repo) -> None:  # type: ignore[no-untyped-def]
    base = {"repo": "me/pics", "url": own_repo["bare"]}
    first = runner.run("github-001", name="gh-own", **base)
    assert first.new == 3
    commit_files(
        own_repo["bare"], {"2024/a.png": b"\x89PNG 2024 a, edited"}, remove=["deep/er/x.jpg"]
    )
    second = runner.run("github-001", name="gh-own", **base)
    assert (second.new, second.changed, second.unchanged, second.deleted_upstream) == (0, 1, 1, 1)


def test_api_full_then_no_change_downloads_no_blob(runner, standins) -> None:  # type: ignore[no-untyped-def]
    first = runner.run("github-002")
    assert (first.status, first.new) == ("ok", 23)
    standins.reset("github")
    second = runner.run("github-002")
    assert second.unchanged == 23
    assert runner.downloads("github", "/git/blobs/") == []


def test_api_walks_subtrees_when_the_recursive_tree_is_truncated(runner, own_repo) -> None:  # type: ignore[no-untyped-def]
    result = runner.run(
        "github-002",
        name="gh-api-own",
        repo="me/pics",
        api=own_repo["api"],
        token="tok-for-tests-123",
    )
    assert (result.status, result.new) == ("ok", 3)


def test_api_bad_token_is_auth_failed(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("github-002", token="ghp_wrongwrongwrong")
    assert (result.status, result.error_code) == ("failed", "AUTH_FAILED")


def test_api_blob_faults_are_retried(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("github", "cut", match="/git/blobs/", times=2)
    standins.fault("github", "length", match="/git/blobs/", times=2)
    result = runner.run("github-002")
    assert (result.status, result.new, result.failed) == ("ok", 23, 0)


def test_mirror_of_missing_repository_is_not_found(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("github-001", name="gh-missing", url=str(tmp_path / "nope.git"))
    assert (result.status, result.error_code) == ("failed", "NOT_FOUND")


def test_git_is_real(own_repo) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run(
        ["git", "-C", own_repo["bare"], "ls-tree", "-r", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(out) == ["2023/a.png", "2024/a.png", "deep/er/x.jpg"]


def test_exhausted_rate_limit_waits_for_reset_not_auth_failed(runner, standins) -> None:  # type: ignore[no-untyped-def]
    try:
        standins.github_rate_limit(remaining=0, reset_in=1)
        result = runner.run("github-002")
        assert (result.status, result.new) == ("ok", 23)
        assert max(runner.sleeps) >= 0.5  # waited for the advertised reset before retrying

        standins.github_rate_limit(remaining=0, reset_in=30)
        failed = runner.run("github-002", name="gh-limited", attempts=1)
        assert (failed.status, failed.error_code) == ("failed", "RATE_LIMITED")
    finally:
        standins.github_rate_limit(remaining=5000, reset_in=3600)


def test_path_limits_the_backup_to_one_folder(runner, own_repo) -> None:  # type: ignore[no-untyped-def]
    result = runner.run(
        "github-001", name="gh-2023", repo="me/pics", url=own_repo["bare"], path="2023"
    )
    assert (result.status, result.new) == ("ok", 1)
