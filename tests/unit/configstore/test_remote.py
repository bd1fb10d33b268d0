"""The config store with a git remote: real git, real bare remotes, real concurrent processes."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hib_orchestrator.configstore import CommitResult, ConfigStore, path_for
from hib_orchestrator.configstore.remote import check_remote_url, redact_url
from hib_orchestrator.configstore.sync import backoff
from hib_orchestrator.errors import ConfigError, ErrorCode
from hib_orchestrator.settings import load_settings


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout


def _bare(tmp_path: Path, name: str = "remote.git") -> Path:
    bare = tmp_path / name
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    return bare


def _trailers(bare: Path) -> list[str]:
    out = _git(bare, "log", "--format=%(trailers:key=Hib-Run,valueonly,separator=%x2C)", "main")
    return sorted(v.strip() for v in out.split() if v.strip())


def _commit(store: ConfigStore, run_id: str, configs: dict[str, str]) -> CommitResult:
    staging = store.staging(run_id)
    for host, text in configs.items():
        base = store.current(host)
        staging.put(host, text, hashlib.sha256(text.encode()).hexdigest(),
                    hashlib.sha256(base.encode()).hexdigest() if base is not None else "")
    return store.commit_run(run_id)


def test_a_run_commit_is_pushed_to_the_remote(tmp_path: Path) -> None:
    bare = _bare(tmp_path)
    store = ConfigStore(tmp_path / "a", remote=str(bare))
    result = _commit(store, "1", {"r1": "hostname r1\n", "r2": "hostname r2\n"})
    assert result.pushed is True and not result.push_pending and result.push_error is None
    assert _git(bare, "rev-parse", "main").strip() == result.commit == result.head
    assert _trailers(bare) == ["1"]
    # Nothing changed: no commit, nothing to push, still in step.
    again = _commit(store, "2", {"r1": "hostname r1\n"})
    assert again.commit is None and again.pushed is True and again.held == {"r1": result.commit}


def test_a_new_runner_starts_from_the_remote_history(tmp_path: Path) -> None:
    bare = _bare(tmp_path)
    first = _commit(ConfigStore(tmp_path / "a", remote=str(bare)), "1", {"r1": "v1\n"})
    newcomer = ConfigStore(tmp_path / "b", remote=str(bare))
    assert newcomer.current("r1") == "v1\n"  # read before any commit of its own
    assert _git(newcomer.root, "rev-parse", "HEAD").strip() == first.commit
    second = _commit(newcomer, "2", {"r1": "v2\n"})
    assert second.pushed and _git(bare, "rev-parse", "main").strip() == second.commit
    assert _git(bare, "rev-parse", "main^").strip() == first.commit  # a fast-forward


_WRITER = """
import hashlib, sys
from hib_orchestrator.configstore import ConfigStore
root, remote, name, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = ConfigStore(root, remote=remote, push_attempts=30)
for n in range(runs):
    run_id = f"{name}-{n}"
    text = f"hostname {name}-dev{n}\\n"
    store.staging(run_id).put(f"{name}-dev{n}", text, hashlib.sha256(text.encode()).hexdigest(), "")
    shared = f"shared seen by {run_id}\\n"
    store.staging(run_id).put("shared", shared, hashlib.sha256(shared.encode()).hexdigest(), None)
    result = store.commit_run(run_id)
    assert result.pushed, result.push_error
"""


def test_concurrent_runners_on_one_remote_lose_no_commit(tmp_path: Path) -> None:
    bare = _bare(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / f"home{i}"),
                               str(bare), f"w{i}", "3"], stderr=subprocess.PIPE, text=True)
             for i in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    assert _trailers(bare) == sorted(f"w{i}-{n}" for i in range(3) for n in range(3))
    checkout = tmp_path / "check"
    subprocess.run(["git", "clone", "-q", str(bare), str(checkout)], check=True)
    for i in range(3):
        for n in range(3):
            assert (checkout / path_for(f"w{i}-dev{n}")).read_text() == f"hostname w{i}-dev{n}\n"
    # "shared" was changed by every run: HEAD has one of them, every version is in history.
    assert (checkout / path_for("shared")).read_text().startswith("shared seen by w")
    versions = ConfigStore(checkout, remote=None).versions("shared")
    assert sorted(v.run_id for v in versions) == _trailers(bare)  # type: ignore[type-var]
    _git(bare, "fsck", "--no-progress")


def test_same_device_changed_by_two_runners_keeps_both_newest_on_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = _bare(tmp_path)
    a = ConfigStore(tmp_path / "a", remote=str(bare))
    b = ConfigStore(tmp_path / "b", remote=str(bare))
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T09:00:00Z")
    _commit(a, "1", {"r1": "base\n"})
    assert b.current("r1") == "base\n"
    # B backs up r1 first while the remote is away: its commit is owed.
    hidden = tmp_path / "away.git"
    bare.rename(hidden)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T10:00:00Z")
    older = _commit(b, "2", {"r1": "older copy from b\n"})
    assert older.push_pending and older.push_error is not None
    hidden.rename(bare)
    # A backs up r1 an hour later and pushes.
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T11:00:00Z")
    newer = _commit(a, "3", {"r1": "newer copy from a\n"})
    assert newer.pushed
    # B's next run delivers its owed commit: A's newer copy stays on top, B's is in history.
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T12:00:00Z")
    delivered = _commit(b, "4", {})
    assert delivered.pushed and delivered.owed == 0
    assert [c.to_dict() for c in delivered.conflicts] == [
        {"host": "r1", "kept": "remote", "ours": older.commit, "theirs": newer.commit}]
    assert b.current("r1") == "newer copy from a\n"
    assert _git(bare, "show", f"main:{path_for('r1')}") == "newer copy from a\n"
    assert [v.commit for v in b.versions("r1")][:2] == [newer.commit, older.commit]
    assert _trailers(bare) == ["1", "2", "3"]  # run 4 changed nothing; merges carry Hib-Merge
    # The other way round: the runner that merges has the newer copy, so it ends up on top.
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T13:00:00Z")
    bare.rename(hidden)
    late_a = _commit(a, "5", {"r1": "a at 13h\n"})
    hidden.rename(bare)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T14:00:00Z")
    late_b = _commit(b, "6", {"r1": "b at 14h\n"})
    again = _commit(a, "7", {})
    assert late_b.pushed and again.pushed
    assert [c.kept for c in again.conflicts] == ["remote"]
    assert a.current("r1") == b.current("r1") == "b at 14h\n"
    assert late_a.commit in [v.commit for v in a.versions("r1")]


def test_unreachable_remote_keeps_the_commit_and_the_next_run_pushes_it(tmp_path: Path) -> None:
    bare = _bare(tmp_path)
    store = ConfigStore(tmp_path / "a", remote=str(tmp_path / "not-yet.git"))
    result = _commit(store, "1", {"r1": "v1\n"})
    assert result.commit and result.push_pending and result.owed == 1
    assert result.push_error is not None
    assert result.push_error.code == ErrorCode.REMOTE_UNREACHABLE
    assert len(result.push_error.message.splitlines()) == 1
    assert store.current("r1") == "v1\n"  # nothing lost locally
    bare.rename(tmp_path / "not-yet.git")
    later = _commit(store, "2", {"r2": "v2\n"})
    assert later.pushed and later.owed == 0
    assert _trailers(tmp_path / "not-yet.git") == ["1", "2"]


class _Deny(http.server.BaseHTTPRequestHandler):
    def _deny(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _deny  # http.server's method names

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def deny_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Deny)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_auth_failure_is_push_failed_without_the_password(tmp_path: Path,
                                                         deny_server: str) -> None:
    url = deny_server.replace("http://", "http://hib:s3cr3t-pw@") + "/configs.git"
    store = ConfigStore(tmp_path / "a", remote=url)
    result = _commit(store, "1", {"r1": "v1\n"})
    assert result.push_pending and result.push_error is not None
    assert result.push_error.code == ErrorCode.PUSH_FAILED
    assert "authentication failed" in result.push_error.message
    assert "s3cr3t-pw" not in result.push_error.message
    assert result.push_error.message.count("\n") == 0
    assert store.current("r1") == "v1\n" and result.commit


_MOVER = """#!/bin/sh
# Another runner wins every race: the branch moves on before each push lands.
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
tip=$(git rev-parse refs/heads/main)
next=$(echo storm | git commit-tree "$tip^{tree}" -p "$tip")
git update-ref refs/heads/main "$next" "$tip"
"""


def test_a_branch_that_keeps_moving_is_push_failed_after_bounded_attempts(tmp_path: Path) -> None:
    bare = _bare(tmp_path)
    _commit(ConfigStore(tmp_path / "seed", remote=str(bare)), "1", {"r0": "seed\n"})
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(_MOVER)
    hook.chmod(0o755)
    store = ConfigStore(tmp_path / "a", remote=str(bare), push_attempts=3)
    result = _commit(store, "2", {"r1": "v1\n"})
    assert result.push_pending and result.push_error is not None
    assert result.push_error.code == ErrorCode.PUSH_FAILED
    assert "kept moving" in result.push_error.message and "3 attempts" in result.push_error.message
    assert result.owed == 1 and store.current("r1") == "v1\n"
    hook.unlink()
    assert _commit(store, "3", {}).pushed
    assert _trailers(bare) == ["1", "2"]


def test_two_runs_on_one_store_name_the_commit_that_holds_their_version(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "a", remote=None)
    # Both runs fetched the same new device state before either committed.
    for run_id in ("1", "2"):
        staging = store.staging(run_id)
        for host in ("r1", "r2"):
            text = f"hostname {host}\n"
            staging.put(host, text, hashlib.sha256(text.encode()).hexdigest(), "")
    first = store.commit_run("1")
    second = store.commit_run("2")
    assert first.commit and first.hosts == ["r1", "r2"]
    assert second.commit is None and second.hosts == [] and second.stale_hosts == []
    assert second.held == {"r1": first.commit, "r2": first.commit}


@pytest.mark.parametrize("url", ["", " ssh://h/r.git", "s3://bucket/configs", "ftp2://x/y",
                                 "https://", "file:///tmp/a b.git", "-uhack", "ssh://h/r\n"])
def test_unusable_remote_urls_are_bad_config(url: str) -> None:
    with pytest.raises(ConfigError):
        check_remote_url(url)


@pytest.mark.parametrize("url", ["ssh://git@example.net/cfg.git", "git@example.net:cfg.git",
                                 "https://example.net/cfg.git", "file:///srv/cfg.git",
                                 "/srv/cfg.git", "../cfg.git"])
def test_git_urls_are_accepted(url: str) -> None:
    assert check_remote_url(url) == url


def test_settings_refuse_a_bad_remote_and_hib_exits_2(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported URL scheme"):
        load_settings({"HIB_HOME": str(tmp_path), "HIB_CONFIG_REMOTE": "s3://u:pw@b/x"})
    hib = Path(sys.executable).parent / "hib"
    env = {**os.environ, "HIB_HOME": str(tmp_path), "HIB_CONFIG_REMOTE": "s3://u:pw@b/x"}
    proc = subprocess.run([str(hib), "runs"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "HIB_CONFIG_REMOTE" in proc.stderr
    assert "pw" not in proc.stderr


def test_redaction_and_backoff_bounds() -> None:
    assert redact_url("fatal: https://u:tok@h/r.git x") == "fatal: https://***@h/r.git x"
    assert backoff(1, rng=lambda a, b: a) == pytest.approx(0.1)
    assert backoff(30, rng=lambda a, b: b) == pytest.approx(7.5)


def test_a_concurrent_run_that_saw_the_same_device_state_names_the_other_commit(
    tmp_path: Path,
) -> None:
    store = ConfigStore(tmp_path / "a", remote=None)
    # Same significant config, different volatile line: the second run's copy is not newer.
    for run_id, clock in (("1", "101"), ("2", "202")):
        text = f"hostname r1\nntp clock-period {clock}\n"
        store.staging(run_id).put("r1", text, hashlib.sha256(text.encode()).hexdigest(), "",
                                  significant="same-significant-hash")
    first = store.commit_run("1")
    second = store.commit_run("2")
    assert second.commit is None and second.stale_hosts == [] and second.held == {
        "r1": first.commit}
    # A different significant text staged against an outdated base stays stale (not committed).
    text = "hostname r1\nvlan 9\n"
    store.staging("3").put("r1", text, hashlib.sha256(text.encode()).hexdigest(), "",
                           significant="other")
    third = store.commit_run("3")
    assert third.stale_hosts == ["r1"] and third.held == {} and third.commit is None
