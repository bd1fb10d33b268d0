from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.orchestration.junit import junit_xml, write_junit
from hib_orchestrator.orchestration.runlock import RunLock

RUN = {
    "id": 7, "status": "failed", "playbook": "playbooks/backup.yml",
    "started_at": "2026-11-24T08:00:00Z", "finished_at": "2026-11-24T08:01:00Z",
    "hosts": [
        {"host": "ios-001", "kind": "device", "status": "ok", "changed": False,
         "duration_s": 0.5, "sha256": "ab", "commit": None},
        {"host": "ios-002", "kind": "device", "status": "failed", "error_code": "AUTH_FAILED",
         "error_message": "login rejected", "duration_s": 1.25},
        {"host": "eos-003", "kind": "device", "status": "unreachable",
         "error_code": "UNREACHABLE", "error_message": "refused", "duration_s": 0.1},
        {"host": "s3", "kind": "provider", "status": "skipped"},
    ],
}


def test_junit_has_one_testcase_per_host_and_counts_failures(tmp_path: Path) -> None:
    path = tmp_path / "out.xml"
    write_junit(RUN, path)
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("4", "1", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"ios-001", "ios-002", "eos-003", "s3"}
    failure = cases["ios-002"].find("failure")
    assert failure is not None and failure.get("type") == "AUTH_FAILED"
    assert "login rejected" in (failure.get("message") or "")
    assert cases["eos-003"].find("error") is not None
    assert cases["ios-001"].find("failure") is None
    assert cases["ios-002"].get("time") == "1.250"


def test_junit_escapes_hostile_messages() -> None:
    run = {**RUN, "hosts": [{"host": "r<1>", "status": "failed", "error_code": "X",
                              "error_message": 'a "b" & <c>'}]}
    root = ET.fromstring(junit_xml(run).split("\n", 1)[1])
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.get("message") == 'X: a "b" & <c>'


def test_second_run_lock_fails_with_holder_and_kill_releases(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys,time\nfrom pathlib import Path\n"
         "from hib_orchestrator.orchestration.runlock import RunLock\n"
         f"l=RunLock(Path({str(tmp_path)!r})); l.acquire(41); print('held', flush=True)\n"
         "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=rf"another hib run.*run 41, pid {holder.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    lock = RunLock(tmp_path)
    lock.acquire(42)  # the kernel dropped the dead holder's lock
    lock.release()
