"""hib.orchestrator.device_batch: what only the batch path has, against a real lab.

Every test of test_device_backup.py already runs on the batch playbook (the ``lab`` fixture's
``batch`` path); these cover the batch's own behaviour: no strategy plugin and no deprecation,
one line per device while it runs, ``--limit``/``--forks``/``serial``, the session processes and
their settings, Ctrl-C, and ``hib run``'s live view fed from the progress file.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .conftest import BIN, HIB, PLAYBOOK, REPO, Lab, hib


@pytest.fixture(scope="module")
def batch_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Six devices of three platforms in a private HIB_HOME; always stopped."""
    home = tmp_path_factory.mktemp("hib-batch")
    try:
        out = hib(home, "lab", "up", "--devices", "6", "--platforms",
                  "cisco_ios,arista_eos,juniper_junos").stdout
        yield Lab(home=home, inventory=Path(out.strip().splitlines()[-1]), path="batch")
    finally:
        hib(home, "lab", "down", check=False)


def _recap(stdout: str) -> str:
    return stdout.split("PLAY RECAP", 1)[1]


def test_default_run_uses_no_strategy_plugin_and_prints_a_line_per_device(
        batch_lab: Lab) -> None:
    run = batch_lab.run(tag="plain")
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-3000:]
    output = run.stdout + run.stderr
    assert "DEPRECATION" not in output and "running as linear" not in output
    assert "hib.orchestrator.fleet" not in output
    batch_part = run.stdout.split("TASK [Commit", 1)[0]
    for host in batch_lab.hosts():
        assert f"changed: [{host}]" in batch_part or f"ok: [{host}]" in batch_part, host
    assert set(run.devices()) == set(batch_lab.hosts())
    # Every device is recorded with its own duration and attempts, as a per-host task would be.
    doc = json.loads(hib(batch_lab.home, "runs", "show", "latest", "--json").stdout)
    rows = {h["host"]: h for h in doc["hosts"]}
    assert set(rows) == set(batch_lab.hosts())
    assert all(r["kind"] == "device" and r["attempts"] == 1 and r["duration_s"] > 0
               for r in rows.values()), rows


def test_limit_and_forks_bound_the_batch(batch_lab: Lab) -> None:
    hosts = sorted(batch_lab.hosts())
    picked = hosts[:2]
    run = batch_lab.run("--limit", ",".join(picked), "--forks", "1", tag="limit")
    assert run.rc == 0, run.stderr[-2000:]
    assert sorted(run.devices()) == picked
    assert all(h not in _recap(run.stdout) for h in hosts[2:])
    doc = json.loads(hib(batch_lab.home, "runs", "show", "latest", "--json").stdout)
    assert sorted(h["host"] for h in doc["hosts"]) == picked


def test_serial_batches_each_back_up_their_own_devices(batch_lab: Lab, tmp_path: Path) -> None:
    plays = yaml.safe_load(PLAYBOOK.read_text())
    plays[0]["serial"] = 2
    serial = tmp_path / "serial.yml"
    serial.write_text(yaml.safe_dump(plays, sort_keys=False))
    mutated = batch_lab.mutate(3)
    run = batch_lab.run(tag="serial", playbook=serial)
    assert run.rc == 0, run.stderr[-2000:]
    batches = [d for d in run.results if d["action"].endswith("device_batch")]
    assert len(batches) == 3  # 6 devices, 2 per batch
    assert all(len(d["result"]["hosts"]) == 2 for d in batches)
    assert sorted(h for h, r in run.devices().items() if r["changed"]) == sorted(mutated)


def test_a_failed_device_counts_for_ansible_and_the_others_do_not(batch_lab: Lab) -> None:
    host = sorted(batch_lab.hosts())[0]
    batch_lab.fault(host, "auth")
    try:
        run = batch_lab.run(tag="auth")
    finally:
        batch_lab.fault(host, "none")
    assert run.rc == 2, run.stderr[-2000:]  # ansible-playbook: a host failed
    assert f"failed: [{host}] => AUTH_FAILED" in run.stdout
    assert run.ansible_status(host) == "failed"
    recap = {line.split()[0]: line for line in _recap(run.stdout).splitlines() if " ok=" in line}
    assert "failed=1" in recap[host]
    assert all("failed=0" in line for name, line in recap.items() if name != host)
    doc = json.loads(hib(batch_lab.home, "runs", "show", "latest", "--json").stdout)
    assert doc["status"] == "failed"
    rows = {h["host"]: h for h in doc["hosts"]}
    assert rows[host]["status"] == "failed" and rows[host]["error_code"] == "AUTH_FAILED"
    assert all(r["status"] in ("ok", "changed") for h, r in rows.items() if h != host)


@pytest.mark.parametrize("processes", ["0", "1"])
def test_session_processes_setting(batch_lab: Lab, processes: str) -> None:
    run = batch_lab.run(tag=f"procs-{processes}", env={"HIB_SESSION_PROCESSES": processes})
    assert run.rc == 0, run.stderr[-2000:]
    assert set(run.devices()) == set(batch_lab.hosts())


def test_bad_session_process_count_is_a_clear_error(batch_lab: Lab) -> None:
    run = batch_lab.run(tag="procs-bad", env={"HIB_SESSION_PROCESSES": "many"})
    assert run.rc != 0
    assert "HIB_SESSION_PROCESSES must be a non-negative integer, not 'many'" in run.stdout
    assert not run.devices()


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_ctrl_c_stops_the_sessions_and_closes_the_run(batch_lab: Lab) -> None:
    hung = sorted(batch_lab.hosts())[0]
    batch_lab.fault(hung, "hang")
    env = {**os.environ, "HIB_HOME": str(batch_lab.home), "HIB_SESSION_PROCESSES": "2"}
    env.pop("HIB_RUN_ID", None)
    try:
        proc = subprocess.Popen(
            [str(BIN / "ansible-playbook"), str(PLAYBOOK), "-i", str(batch_lab.inventory),
             "-e", "hib_timeout=120"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        # the main process, its batch worker, the recorder's writer and two session processes
        while len(_descendants(proc.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)  # the other devices are done; the hung device's session is under way
        started = _descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)  # far below the 120 s device timeout
    finally:
        batch_lab.fault(hung, "none")
    assert proc.returncode != 0
    assert "User interrupted execution" in err
    deadline = time.monotonic() + 10
    while _alive(started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(started) == set(), "a session process outlived the run"
    runs = json.loads(hib(batch_lab.home, "runs", "--json").stdout)
    assert runs[0]["status"] in ("canceled", "interrupted"), runs[0]


def test_hib_run_shows_devices_while_the_batch_still_runs(batch_lab: Lab) -> None:
    hosts = sorted(batch_lab.hosts())
    hung, fast = hosts[0], hosts[1:]
    batch_lab.fault(hung, "hang")
    env = {**os.environ, "HIB_HOME": str(batch_lab.home)}
    env.pop("HIB_RUN_ID", None)
    seen: list[str] = []
    try:
        proc = subprocess.Popen(
            [HIB, "run", "-i", str(batch_lab.inventory), "--timeout", "25", "--retries", "0"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while not all(any(h in line for line in seen) for h in fast):
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                line = proc.stdout.readline()
                assert line, seen  # hib run ended before every fast device was shown
                seen.append(line)
        # every fast device is on screen while the hung one still holds the batch open
        still_running = proc.poll() is None
        out, _ = proc.communicate(timeout=90)
    finally:
        batch_lab.fault(hung, "none")
    assert still_running, "the devices were only shown when the batch ended"
    assert proc.returncode == 1  # the hung device failed with TIMEOUT
    assert "TIMEOUT" in "".join(seen) + out
