from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from hib_orchestrator.configstore import ConfigStore, host_from_path, path_for
from hib_orchestrator.configstore.files import store_lock
from hib_orchestrator.configstore.staging import clean_stale
from hib_orchestrator.errors import ConfigError, ErrorCode, StoreError, StoreLocked


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize(
    "host",
    ["../etc/passwd", "..", ".", ".git", "a/b", "a\\b", "", "-rf", "x" * 201, "r1\n",
     "r1\x00", "..hidden", "sub/../../x", "/abs"],
)
def test_unsafe_host_names_are_rejected(host: str) -> None:
    with pytest.raises(ConfigError) as info:
        path_for(host)
    assert info.value.code == ErrorCode.BAD_CONFIG


@pytest.mark.parametrize("host", ["ios-001", "core1.dc2.example.net", "2001:db8::1", "r_1@x"])
def test_safe_names_map_to_a_sharded_path_and_back(host: str) -> None:
    path = path_for(host)
    shard, name = path.split("/")
    assert len(shard) == 2 and name == f"{host}.cfg"
    assert host_from_path(path) == host


def test_one_commit_per_run_with_trailer_only_for_changed_hosts(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "configs")
    staging = store.staging("41")
    for host in ("r1", "r2", "r3"):
        staging.put(host, f"hostname {host}\n", "sha")
    first = store.commit_run("41")
    assert first.hosts == ["r1", "r2", "r3"] and first.commit
    # Run 42 stages r1 unchanged and r2 changed: only r2 is in the commit.
    staging = store.staging("42")
    staging.put("r1", "hostname r1\n", "sha")
    staging.put("r2", "hostname r2\nvlan 10\n", "sha")
    second = store.commit_run("42")
    assert second.hosts == ["r2"]
    log = _git(store.root, "log", "--format=%H %s")
    assert len(log.splitlines()) == 2
    body = _git(store.root, "log", "-1", "--format=%B")
    assert "- r2" in body and "- r1" not in body and body.strip().endswith("Hib-Run: 42")
    assert _git(store.root, "show", "--name-only", "--format=", "HEAD").split() == [
        path_for("r2")]
    assert not (store.root / ".git" / "hib" / "staging" / "42").exists()
    assert _git(store.root, "status", "--porcelain") == ""


def test_nothing_staged_or_nothing_changed_makes_no_commit(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "configs")
    assert store.commit_run("1").commit is None
    store.staging("2").put("r1", "a\n", "s")
    head = store.commit_run("2").commit
    store.staging("3").put("r1", "a\n", "s")
    assert store.commit_run("3").commit is None
    assert _git(store.root, "rev-parse", "HEAD").strip() == head


def test_read_versions_diff_and_current(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "configs")
    assert store.current("r1") is None and store.versions("r1") == []
    store.staging("7").put("r1", "hostname r1\nvlan 1\n", "s")
    c1 = store.commit_run("7").commit
    store.staging("8").put("r1", "hostname r1\nvlan 2\n", "s")
    c2 = store.commit_run("8").commit
    versions = store.versions("r1")
    assert [(v.commit, v.run_id) for v in versions] == [(c2, "8"), (c1, "7")]
    assert versions[0].committed_at.tzinfo is not None
    assert [v.commit for v in store.versions("r1", limit=1)] == [c2]
    assert store.read("r1") == "hostname r1\nvlan 2\n" == store.current("r1")
    assert store.read("r1", c1) == "hostname r1\nvlan 1\n"
    diff = store.diff("r1")
    assert "-vlan 1" in diff and "+vlan 2" in diff
    assert "+vlan 1" in store.diff("r1", c2, c1)
    with pytest.raises(ConfigError):
        store.read("nope")
    with pytest.raises(ConfigError):
        store.read("r1", "deadbeef")


def test_second_committer_waits_for_the_lock_then_fails_with_store_locked(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "configs", lock_timeout=0.5)
    store.staging("9").put("r1", "x\n", "s")
    with store_lock(store.root / ".git" / "hib" / "lock", timeout=1), \
            pytest.raises(StoreError) as info:
        store.commit_run("9")
    assert info.value.code == ErrorCode.STORE_LOCKED and isinstance(info.value, StoreLocked)
    assert "locked by another run" in info.value.message
    assert store.current("r1") is None  # nothing moved in
    assert store.commit_run("9").hosts == ["r1"]  # staged data survived for a retry


def test_concurrent_runs_serialise_and_both_commit(tmp_path: Path) -> None:
    root = tmp_path / "configs"
    results = {}

    def run(run_id: str, host: str) -> None:
        store = ConfigStore(root, lock_timeout=30)
        store.staging(run_id).put(host, f"hostname {host}\n", "s")
        results[run_id] = store.commit_run(run_id)

    threads = [threading.Thread(target=run, args=(f"{n}", f"r{n}")) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(h for r in results.values() for h in r.hosts) == [f"r{n}" for n in range(6)]
    assert len(_git(root, "log", "--format=%H").split()) == 6


def test_stale_staging_of_dead_runs_is_removed(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "configs")
    dead = subprocess.Popen(["true"])
    dead.wait()
    store.staging("old", owner_pid=dead.pid).put("r9", "x\n", "s")
    store.staging("live", owner_pid=1).put("r8", "y\n", "s")
    root = store.root / ".git" / "hib" / "staging"
    assert sorted(clean_stale(root, keep="current")) == ["old"]
    assert (root / "live").is_dir()


def test_gc_runs_every_n_commits(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "configs", gc_every=2)
    for n in range(4):
        store.staging(str(n)).put("r1", f"v{n}\n", "s")
        store.commit_run(str(n))
    assert (store.root / ".git" / "hib" / "commits").read_text() == "4"
    assert _git(store.root, "fsck", "--no-progress") == ""


def test_parallel_ensure_creates_one_repository(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "configs"
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            ConfigStore(root).ensure()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=ensure) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _git(root, "rev-parse", "--is-inside-work-tree").strip() == "true"
    assert [p.name for p in root.parent.iterdir()] == ["configs"]


def test_an_entry_staged_against_an_older_copy_is_not_committed_over_a_newer_one(
    tmp_path: Path,
) -> None:
    import hashlib

    store = ConfigStore(tmp_path / "configs")
    store.staging("1").put("r1", "v1\n", "s", base_sha256="")
    store.commit_run("1")
    v1 = hashlib.sha256(b"v1\n").hexdigest()
    # Runs A and B both fetched r1 against v1; B commits first with newer state.
    store.staging("A").put("r1", "v2-old\n", "s", base_sha256=v1)
    store.staging("B").put("r1", "v3-new\n", "s", base_sha256=v1)
    assert store.commit_run("B").hosts == ["r1"]
    late = store.commit_run("A")
    assert late.commit is None and late.hosts == [] and late.stale_hosts == ["r1"]
    assert store.current("r1") == "v3-new\n"
