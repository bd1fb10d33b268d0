"""hib.orchestrator.fleet and its session pool, against a real lab and real ansible-playbook.

The fleet strategy is an opt-in for playbooks that back devices up one task per host
(``device_config``); these cover what only it has: the session interpreters, their failure
modes and the strategy's own settings, on the per-host playbook of the ``fleet`` lab path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hib_orchestrator.devices import BackupRequest, Connection, FetchPolicy
from hib_orchestrator.devices.pool import SessionPool, active_pool, start_pool, stop_pool
from hib_orchestrator.procs import pid_alive

from .conftest import BIN, PER_HOST_PLAYBOOK, REPO, Lab, hib

WORKER = "hib_orchestrator.devices.pool_worker"


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Four IOS devices in a private HIB_HOME; always stopped."""
    home = tmp_path_factory.mktemp("hib-fleet")
    try:
        out = hib(home, "lab", "up", "--devices", "4", "--platforms", "cisco_ios").stdout
        yield Lab(home=home, inventory=Path(out.strip().splitlines()[-1]), path="fleet")
    finally:
        hib(home, "lab", "down", check=False)


def _request(lab: Lab, host: str, *, timeout: float = 20, check: bool = True) -> BackupRequest:
    v = lab.hosts()[host]
    conn = Connection(host, v["ansible_host"], int(v["ansible_port"]), v["ansible_user"],
                      v["ansible_password"], enable_secret=v.get("hib_enable_secret"))
    return BackupRequest(conn, v["hib_platform"], run_id="pool-test", check_mode=check,
                         policy=FetchPolicy(timeout=timeout, retries=0))


def _workers(pool: SessionPool) -> list[int]:
    return [w.proc.pid for w in pool._workers if w.alive]


def test_pool_runs_sessions_concurrently_in_its_interpreters(small_lab: Lab) -> None:
    hosts = sorted(small_lab.hosts())
    pool = SessionPool(processes=2, threads=2)
    try:
        results: dict[str, object] = {}
        threads = [threading.Thread(target=lambda h=h: results.__setitem__(
            h, pool.backup(_request(small_lab, h), small_lab.store))) for h in hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results) == hosts
        for host, result in results.items():
            assert result.error is None, (host, result.error)  # type: ignore[attr-defined]
            assert result.size_bytes and len(result.sha256) == 64  # type: ignore[attr-defined]
        pids = _workers(pool)
        assert len(pids) == 2 and os.getpid() not in pids
    finally:
        pool.close()
    assert not any(pid_alive(pid) for pid in pids)
    with pytest.raises(RuntimeError):
        pool.backup(_request(small_lab, hosts[0]), small_lab.store)
    pool.close()  # idempotent


def test_a_dead_session_interpreter_fails_its_sessions_and_is_replaced(small_lab: Lab) -> None:
    hung, other = sorted(small_lab.hosts())[:2]
    small_lab.fault(hung, "hang")
    pool = SessionPool(processes=1, threads=2)
    try:
        outcome: dict[str, object] = {}
        thread = threading.Thread(target=lambda: outcome.__setitem__(
            "r", pool.backup(_request(small_lab, hung, timeout=60), small_lab.store)))
        thread.start()
        deadline = time.monotonic() + 30
        while not _workers(pool) and time.monotonic() < deadline:
            time.sleep(0.05)
        (victim,) = _workers(pool)
        time.sleep(1.0)  # the hung session is under way in that interpreter
        os.kill(victim, signal.SIGKILL)
        thread.join(30)
        result = outcome["r"]
        assert result.error is not None  # type: ignore[attr-defined]
        assert str(result.error.code) == "INTERNAL"  # type: ignore[attr-defined]
        assert f"worker {victim} exited" in result.error.message  # type: ignore[attr-defined]
        # the next session gets a new interpreter and works
        again = pool.backup(_request(small_lab, other), small_lab.store)
        assert again.error is None, again.error
        assert _workers(pool) and victim not in _workers(pool)
    finally:
        small_lab.fault(hung, "none")
        pool.close()


def test_a_forked_child_never_uses_its_parents_pool() -> None:
    pool = start_pool(1, 1)
    try:
        assert active_pool() is pool
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os.write(write, b"none" if active_pool() is None else b"parent's")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 16) == b"none"
        os.close(read)
        os.close(write)
    finally:
        stop_pool()
    assert active_pool() is None


def test_fleet_keeps_limit_forks_and_per_host_results(small_lab: Lab) -> None:
    hosts = sorted(small_lab.hosts())
    picked = hosts[:2]
    first = small_lab.run(tag="fleet-first")
    assert first.rc == 0, first.stderr[-2000:]
    run = small_lab.run("--limit", ",".join(picked), "--forks", "1", tag="fleet-limit",
                        env={"HIB_SESSION_PROCESSES": "1"})
    assert run.rc == 0, run.stderr[-2000:]
    assert sorted(run.devices()) == picked
    for host in picked:
        assert f"{host}" in run.stdout.split("PLAY RECAP", 1)[1]
    assert all(h not in run.stdout.split("PLAY RECAP", 1)[1] for h in hosts[2:])
    assert "running as linear" not in run.stderr


def test_fleet_reports_a_failed_device_like_linear(small_lab: Lab) -> None:
    host = sorted(small_lab.hosts())[0]
    small_lab.fault(host, "auth")
    try:
        run = small_lab.run(tag="fleet-auth")
    finally:
        small_lab.fault(host, "none")
    assert run.rc == 2, run.stderr[-2000:]  # ansible-playbook: a host failed
    result = run.device(host)
    assert result["failed"] and result["error_code"] == "AUTH_FAILED"
    assert "failed=1" in run.stdout.split("PLAY RECAP", 1)[1]
    others = {h: r for h, r in run.devices().items() if h != host}
    assert others and not any(r.get("failed") for r in others.values())


def test_bad_session_process_count_is_a_clear_error(small_lab: Lab) -> None:
    run = small_lab.run(tag="fleet-bad", env={"HIB_SESSION_PROCESSES": "zero"})
    assert run.rc != 0
    assert "HIB_SESSION_PROCESSES must be a positive integer, not 'zero'" in (
        run.stdout + run.stderr)
    assert not run.devices()


def _pool_workers_of(home: Path) -> list[int]:
    tag = f"HIB_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and WORKER.encode() in (entry / "cmdline").read_bytes()
                    and tag in (entry / "environ").read_bytes().split(b"\0")):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_ctrl_c_stops_the_sessions_and_closes_the_run(small_lab: Lab) -> None:
    hung = sorted(small_lab.hosts())[0]
    small_lab.fault(hung, "hang")
    env = {**os.environ, "HIB_HOME": str(small_lab.home),
           "ANSIBLE_STRATEGY": "hib.orchestrator.fleet"}
    env.pop("HIB_RUN_ID", None)
    try:
        proc = subprocess.Popen(
            [str(BIN / "ansible-playbook"), str(PER_HOST_PLAYBOOK), "-i", str(small_lab.inventory),
             "-e", "hib_timeout=120"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not _pool_workers_of(small_lab.home) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _pool_workers_of(small_lab.home), "no session interpreter started"
        time.sleep(2)  # the hung device's session is under way
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)  # far below the 120 s device timeout
    finally:
        small_lab.fault(hung, "none")
    assert proc.returncode != 0
    assert "User interrupted execution" in err
    assert _pool_workers_of(small_lab.home) == []
    runs = json.loads(hib(small_lab.home, "runs", "--json").stdout)
    assert runs[0]["status"] in ("canceled", "interrupted"), runs[0]
