"""Many runners, one history: real ansible-playbook runs, separate HIB_HOMEs, one bare git remote.

One small lab (2 devices) serves every runner; each runner is its own HIB_HOME (own SQLite
database, own config store) with ``HIB_CONFIG_REMOTE`` pointing at a bare repository.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hib_orchestrator.configstore import path_for

HIB = str(Path(sys.executable).parent / "hib")
PlaybookRun = Any  # tests/integration/conftest.py's result of one ansible-playbook run


def hib(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([HIB, *args], env={**os.environ, "HIB_HOME": str(home)},
                          capture_output=True, text=True, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"hib {' '.join(args)} -> {proc.returncode}: {proc.stderr}")
    return proc


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def lab2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A 2-device lab: (lab home, inventory); always stopped."""
    home = tmp_path_factory.mktemp("remote-lab")
    try:
        out = hib(home, "lab", "up", "--devices", "2", "--seed", "15").stdout
        yield home, Path(out.strip().splitlines()[-1])
    finally:
        hib(home, "lab", "down", check=False)


def _hosts(inventory: Path) -> list[str]:
    doc = yaml.safe_load(inventory.read_text())
    return sorted(h for g in doc["all"]["children"]["network"]["children"].values()
                  for h in g["hosts"])


def _bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def _run(playbook: Any, home: Path, inventory: Path, remote: str, tag: str,
         *args: str) -> PlaybookRun:
    home.mkdir(exist_ok=True)
    return playbook(home, [inventory], *args, tag=tag, env={"HIB_CONFIG_REMOTE": remote})


def _show(home: Path, remote: str) -> dict[str, Any]:
    proc = subprocess.run([HIB, "runs", "show", "latest", "--json"], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "HIB_HOME": str(home), "HIB_CONFIG_REMOTE": remote})
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def _reachable(bare: Path, commit: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", commit, "main"], cwd=bare,
                          capture_output=True).returncode == 0


def test_runners_share_one_history_and_owed_pushes_are_delivered(
    lab2: tuple[Path, Path], tmp_path: Path, playbook: Any
) -> None:
    lab_home, inventory = lab2
    hosts = _hosts(inventory)
    bare = _bare(tmp_path / "configs.git")
    remote = str(bare)
    a, b = tmp_path / "runner-a", tmp_path / "runner-b"

    # Two runners at once, each a fresh HIB_HOME: both succeed, both commits on the remote.
    runs: dict[str, PlaybookRun] = {}
    threads = [threading.Thread(target=lambda h=h, t=t: runs.__setitem__(
        t, _run(playbook, h, inventory, remote, t))) for h, t in ((a, "a1"), (b, "b1"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for tag, home in (("a1", a), ("b1", b)):
        run = runs[tag]
        assert run.rc == 0, run.stdout[-3000:]
        commit = run.commit() or {}
        assert commit.get("push_pending") is False and "error_code" not in commit, commit
        made = commit["commit"] or commit["host_commits"][hosts[0]]
        assert _reachable(bare, made)
        doc = _show(home, remote)
        assert doc["status"] == "successful"
        assert all(h["commit"] for h in doc["hosts"]), doc["hosts"]
    head_files = git(bare, "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(head_files) == sorted(path_for(h) for h in hosts)

    # B backs up new device state while the remote is away: kept locally, run push_pending.
    hib(lab_home, "lab", "mutate", "--devices", "2")
    away = tmp_path / "away.git"
    bare.rename(away)
    owed = _run(playbook, b, inventory, remote, "b2")
    bare_back = away.rename(bare)
    assert owed.rc == 0, owed.stdout[-3000:]
    pending = owed.commit() or {}
    assert pending["push_pending"] is True and pending["error_code"] == "REMOTE_UNREACHABLE"
    assert pending["owed"] == 1 and pending["commit"]
    assert "REMOTE_UNREACHABLE" in owed.stdout + owed.stderr  # Ansible prints the warning
    doc = _show(b, remote)
    assert doc["status"] == "push_pending"
    assert {h["host"]: h["status"] for h in doc["hosts"]} == dict.fromkeys(hosts, "changed")
    assert not _has(bare_back, pending["commit"])

    # The devices change again and A backs that up: the newer copies reach the remote first.
    hib(lab_home, "lab", "mutate", "--devices", "2")
    newer = _run(playbook, a, inventory, remote, "a2")
    assert newer.rc == 0 and (newer.commit() or {})["push_pending"] is False
    newest = {h: git(bare, "show", f"main:{path_for(h)}") for h in hosts}

    # B's next run cannot reach the devices, but still delivers its owed (older) commit: the
    # newer copies stay on top, B's older ones are in history as B's commit.
    for host in hosts:
        hib(lab_home, "lab", "fault", host, "refuse")
    try:
        late = _run(playbook, b, inventory, remote, "b3")
    finally:
        for host in hosts:
            hib(lab_home, "lab", "fault", host, "none")
    delivered = late.commit() or {}
    assert delivered["push_pending"] is False and delivered["owed"] == 0, delivered
    assert sorted((c["host"], c["kept"]) for c in delivered["conflicts"]) == [
        (h, "remote") for h in hosts]
    assert _reachable(bare, pending["commit"])
    assert {h: git(bare, "show", f"main:{path_for(h)}") for h in hosts} == newest
    assert _show(b, remote)["status"] == "failed"  # a failed host outranks push_pending
    for host in hosts:
        log = git(bare, "log", "--full-history", "--no-merges", "--format=%H", "main", "--",
                  path_for(host)).split()
        assert log.index((newer.commit() or {})["commit"]) < log.index(pending["commit"])
    # And B is back in step: nothing new on the devices, nothing to commit or push.
    calm = _run(playbook, b, inventory, remote, "b4")
    assert calm.rc == 0 and all(not d.get("changed") for d in calm.devices().values())
    assert _show(b, remote)["status"] == "successful"
    git(bare, "fsck", "--no-progress")


def _has(bare: Path, commit: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=bare,
                          capture_output=True).returncode == 0


class _Deny(http.server.BaseHTTPRequestHandler):
    def _deny(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _deny  # http.server's method names

    def log_message(self, *args: object) -> None:
        pass


def test_auth_failure_is_a_pending_push_and_a_bad_url_exits_2(
    lab2: tuple[Path, Path], tmp_path: Path, playbook: Any
) -> None:
    _, inventory = lab2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Deny)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://hib:pw-0f-runner@127.0.0.1:{server.server_address[1]}/configs.git"
        home = tmp_path / "auth"
        run = _run(playbook, home, inventory, url, "auth")
    finally:
        server.shutdown()
        server.server_close()
    assert run.rc == 0, run.stdout[-3000:]
    commit = run.commit() or {}
    assert commit["push_pending"] is True and commit["error_code"] == "PUSH_FAILED"
    assert "authentication failed" in commit["push_error"]
    assert commit["commit"] and (home / "configs" / path_for(_hosts(inventory)[0])).exists()
    assert "pw-0f-runner" not in run.stdout + run.stderr
    assert "pw-0f-runner" not in (home / "hib.db").read_bytes().decode(errors="replace")
    assert _show(home, url)["status"] == "push_pending"
    # hib run shows the same run status and exits 0 with one warning line.
    proc = subprocess.run([HIB, "run", "-i", str(inventory), "--json"], capture_output=True,
                          text=True, timeout=240,
                          env={**os.environ, "HIB_HOME": str(home), "HIB_CONFIG_REMOTE": url})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["status"] == "push_pending"
    assert [ln for ln in proc.stderr.splitlines() if "push_pending" in ln]
    # An unusable URL is known up front: one line, exit 2, before anything runs.
    bad = subprocess.run([HIB, "run", "-i", str(inventory)], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "HIB_HOME": str(home),
                                          "HIB_CONFIG_REMOTE": "s3://bucket/configs"})
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "HIB_CONFIG_REMOTE" in bad.stderr


_HOLD = """
import sys, time
from pathlib import Path
from hib_orchestrator.configstore.files import store_lock
with store_lock(Path(sys.argv[1]), timeout=30):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_lock_timeout_is_store_locked_and_concurrent_runs_name_their_commit(
    lab2: tuple[Path, Path], tmp_path: Path, playbook: Any
) -> None:
    lab_home, inventory = lab2
    home = tmp_path / "one-home"
    home.mkdir()
    first = playbook(home, [inventory], tag="seed")
    assert first.rc == 0
    hib(lab_home, "lab", "mutate", "--devices", "2")
    lock = home / "configs" / ".git" / "hib" / "lock"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(lock), "60"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        blocked = playbook(home, [inventory], "-e", "hib_store_lock_timeout=1",
                               tag="blocked")
    finally:
        holder.terminate()
        holder.wait(timeout=10)
    commit = blocked.commit() or {}
    assert blocked.rc != 0 and commit["error_code"] == "STORE_LOCKED", commit
    assert len(commit["msg"].splitlines()) == 1 and "locked by another run" in commit["msg"]
    git(home / "configs", "fsck", "--no-progress")
    assert git(home / "configs", "status", "--porcelain") == ""

    # Two real runs at once on this HIB_HOME: every changed host names a commit holding it.
    runs: dict[str, PlaybookRun] = {}
    threads = [threading.Thread(target=lambda t=t: runs.__setitem__(
        t, playbook(home, [inventory], tag=t))) for t in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs["x"].rc == 0 and runs["y"].rc == 0
    db = subprocess.run([HIB, "runs", "--json", "--limit", "2"], capture_output=True, text=True,
                        env={**os.environ, "HIB_HOME": str(home)}, timeout=60, check=True)
    rows: dict[str, set[str]] = {}
    for run in json.loads(db.stdout):
        shown = subprocess.run([HIB, "runs", "show", str(run["id"]), "--json"],
                               capture_output=True, text=True, timeout=60, check=True,
                               env={**os.environ, "HIB_HOME": str(home)})
        for row in json.loads(shown.stdout)["hosts"]:
            if row["changed"]:
                assert row["commit"], (run["id"], row)
                rows.setdefault(row["host"], set())
                # The commit holds this device's config: byte for byte when this run made it, the
                # same significant text (volatile lines aside) when the concurrent run did.
                git(home / "configs", "cat-file", "-e", f"{row['commit']}:{path_for(row['host'])}")
                rows[row["host"]].add(row["commit"])
    assert all(len(commits) == 1 for commits in rows.values()), rows
