"""`hib run` end to end: real ansible-runner, real ansible-playbook, real SSH to the lab."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import HIB, REPO, Lab

CONTRACT_RUN_FIELDS = {"id", "status", "started_at", "finished_at", "playbook", "hosts"}
CONTRACT_HOST_FIELDS = {"host", "kind", "status", "changed", "error_code", "error_message",
                        "duration_s", "attempts", "sha256", "size_bytes", "commit", "objects"}


def hosts_of(lab: Lab, platform: str) -> list[str]:
    status = json.loads(lab.lab("status", "--json").stdout)
    return sorted(d["host"] for d in status["devices"] if d["platform"] == platform)


def test_run_json_matches_contract_and_second_run_changes_nothing(lab: Lab, tmp_path: Path) -> None:
    first = lab.hib("run", "-i", str(lab.inventory), "--json", home=tmp_path)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert set(doc) >= CONTRACT_RUN_FIELDS
    assert doc["status"] == "successful"
    assert len(doc["hosts"]) == 16
    for host in doc["hosts"]:
        assert set(host) >= CONTRACT_HOST_FIELDS
        assert host["kind"] == "device" and host["status"] == "changed"
        assert host["commit"] and len(host["sha256"]) == 64
    # progress lines arrive on stderr while --json keeps stdout for the document
    assert "changed" in first.stderr and "ios-001" in first.stderr
    second = json.loads(lab.hib("run", "-i", str(lab.inventory), "--json", home=tmp_path).stdout)
    assert second["id"] != doc["id"]
    assert {h["status"] for h in second["hosts"]} == {"ok"}
    shown = json.loads(lab.hib("runs", "show", str(doc["id"]), "--json", home=tmp_path).stdout)
    assert shown["hosts"] == doc["hosts"]


def test_linear_and_fleet_strategies_store_the_same_configs(lab: Lab, tmp_path: Path) -> None:
    linear = lab.hib("run", "-i", str(lab.inventory), "--strategy", "linear", "--json",
                     home=tmp_path)
    assert linear.returncode == 0, linear.stderr
    assert {h["status"] for h in json.loads(linear.stdout)["hosts"]} == {"changed"}
    fleet = lab.hib("run", "-i", str(lab.inventory), "--json", home=tmp_path)  # the default
    assert fleet.returncode == 0, fleet.stderr
    hosts = json.loads(fleet.stdout)["hosts"]
    assert len(hosts) == 16 and {h["status"] for h in hosts} == {"ok"}
    bogus = lab.hib("run", "-i", str(lab.inventory), "--strategy", "bogus", home=tmp_path)
    assert bogus.returncode == 2
    assert "unknown Ansible strategy 'bogus'" in bogus.stderr
    runs = json.loads(lab.hib("runs", "--json", home=tmp_path).stdout)
    assert len(runs) == 2  # the refused one never became a run


def test_filters_select_the_right_hosts(lab: Lab, tmp_path: Path) -> None:
    ios = hosts_of(lab, "cisco_ios")
    eos = hosts_of(lab, "arista_eos")
    doc = json.loads(lab.hib("run", "-i", str(lab.inventory), "--platform", "cisco_ios",
                             "--json", home=tmp_path).stdout)
    assert sorted(h["host"] for h in doc["hosts"]) == ios
    doc = json.loads(lab.hib("run", "-i", str(lab.inventory), "--platform",
                             "cisco_ios,arista_eos", "--limit", f"{ios[0]}:{eos[0]}:linux-*",
                             "--json", home=tmp_path).stdout)
    assert sorted(h["host"] for h in doc["hosts"]) == sorted([ios[0], eos[0]])
    doc = json.loads(lab.hib("run", "-i", str(lab.inventory), "--group", "juniper_junos",
                             "--json", home=tmp_path).stdout)
    assert sorted(h["host"] for h in doc["hosts"]) == hosts_of(lab, "juniper_junos")


def test_empty_selection_is_a_recorded_zero_host_run(lab: Lab, tmp_path: Path) -> None:
    proc = lab.hib("run", "-i", str(lab.inventory), "--limit", "no-such-host", "--json",
                   home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no host matches" in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["hosts"] == [] and doc["status"] == "successful"
    runs = json.loads(lab.hib("runs", "--json", home=tmp_path).stdout)
    assert runs[0]["id"] == doc["id"] and runs[0]["hosts_total"] == 0


def test_bad_inventory_and_bad_usage_exit_2(lab: Lab, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("all:\n  hosts:\n    - not: [a mapping\n")
    proc = lab.hib("run", "-i", str(broken), home=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("hib: error: inventory cannot be parsed")
    proc = lab.hib("run", "-i", str(tmp_path / "missing.yml"), home=tmp_path)
    assert (proc.returncode, proc.stderr.strip()) == (
        2, f"hib: error: inventory not found: {tmp_path / 'missing.yml'}")
    proc = lab.hib("run", "-i", str(lab.inventory), "-e", "novalue", home=tmp_path)
    assert proc.returncode == 2 and "expected key=value" in proc.stderr
    assert not (tmp_path / "hib.db").exists() or json.loads(
        lab.hib("runs", "--json", home=tmp_path).stdout) == []


def test_junit_counts_failures_injected_with_lab_faults(lab: Lab, tmp_path: Path) -> None:
    ios = hosts_of(lab, "cisco_ios")
    nxos = hosts_of(lab, "cisco_nxos")
    lab.lab("fault", ios[1], "auth")
    lab.lab("fault", nxos[0], "refuse")
    try:
        junit = tmp_path / "junit.xml"
        proc = lab.hib("run", "-i", str(lab.inventory), "--junit", str(junit), "--json",
                       "--platform", "cisco_ios,cisco_nxos", home=tmp_path)
    finally:
        lab.lab("fault", ios[1], "none")
        lab.lab("fault", nxos[0], "none")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["status"] == "failed"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "4"
    failures = {c.get("name"): c.find("failure") for c in suite.iter("testcase")}
    errors = {c.get("name"): c.find("error") for c in suite.iter("testcase")}
    assert {n: f.get("type") for n, f in failures.items() if f is not None} == {
        ios[1]: "AUTH_FAILED"}
    assert {n: e.get("type") for n, e in errors.items() if e is not None} == {
        nxos[0]: "UNREACHABLE"}
    statuses = {h["host"]: h["status"] for h in doc["hosts"]}
    assert (statuses[ios[1]], statuses[nxos[0]]) == ("failed", "unreachable")


def test_idempotency_key_returns_the_same_run(lab: Lab, tmp_path: Path) -> None:
    args = ("run", "-i", str(lab.inventory), "--platform", "linux", "--json",
            "--idempotency-key", "nightly-42")
    first = json.loads(lab.hib(*args, home=tmp_path).stdout)
    again = lab.hib(*args, home=tmp_path)
    assert again.returncode == 0
    assert json.loads(again.stdout)["id"] == first["id"]
    assert "idempotency key already used by run" in again.stderr
    runs = json.loads(lab.hib("runs", "--json", home=tmp_path).stdout)
    assert [r["id"] for r in runs] == [first["id"]]
    other = json.loads(lab.hib("run", "-i", str(lab.inventory), "--platform", "linux",
                               "--json", "--idempotency-key", "nightly-43",
                               home=tmp_path).stdout)
    assert other["id"] != first["id"]


def _start(lab: Lab, home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([HIB, "run", "-i", str(lab.inventory), *args], env=lab.env(home),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(proc: subprocess.Popen[str], needle: str, limit: float = 120) -> list[str]:
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never appeared: {seen}")


def test_sigint_cancels_keeps_completed_hosts_and_exits_3(lab: Lab, tmp_path: Path) -> None:
    slow = hosts_of(lab, "cisco_ios") + hosts_of(lab, "arista_eos")
    for host in slow[1:]:
        lab.lab("fault", host, "slow")
    try:
        proc = _start(lab, tmp_path, "--platform", "cisco_ios,arista_eos", "--forks", "1",
                      "--json")
        _wait_for_line(proc, slow[0])  # the first (fast) host finished
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=180)
    finally:
        for host in slow[1:]:
            lab.lab("fault", host, "none")
    assert proc.returncode == 3, err
    assert "cancel requested" in err
    doc = json.loads(out)
    assert doc["status"] == "canceled"
    by_host = {h["host"]: h for h in doc["hosts"]}
    assert by_host[slow[0]]["status"] == "changed" and by_host[slow[0]]["commit"]
    skipped = [h for h in slow if by_host.get(h, {}).get("status") == "skipped"]
    assert skipped, doc["hosts"]  # hosts not started when the cancel arrived never started
    history = json.loads(lab.hib("history", slow[0], "--json", home=tmp_path).stdout)
    assert history and history[0]["commit"] == by_host[slow[0]]["commit"]


def test_second_run_on_the_same_state_dir_is_refused(lab: Lab, tmp_path: Path) -> None:
    lab.lab("fault", "linux-008", "slow")
    try:
        first = _start(lab, tmp_path, "--platform", "linux", "--json")
        _wait_for_line(first, "hib run")
        second = lab.hib("run", "-i", str(lab.inventory), "--platform", "linux", home=tmp_path)
        _out, err = first.communicate(timeout=180)
    finally:
        lab.lab("fault", "linux-008", "none")
    assert second.returncode == 2
    assert "another hib run is in progress" in second.stderr
    assert first.returncode == 0, err


def test_policy_renders_and_runs_exactly_the_selected_hosts(lab: Lab, tmp_path: Path) -> None:
    eos = hosts_of(lab, "arista_eos")
    policy = tmp_path / "hib.yml"
    policy.write_text(
        "policies:\n"
        "  core:\n"
        "    hosts: network\n"
        "    platforms: [arista_eos, cisco_xr]\n"
        f"    where: {{inventory_hostname: {eos[0]}}}\n"
        "    timeout: 20\n"
    )
    env_home = tmp_path / "home"
    rendered = tmp_path / "core.yml"
    proc = subprocess.run([HIB, "render", "core", "--out", str(rendered)],
                          env={**lab.env(env_home), "HIB_POLICY_FILE": str(policy)}, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run([str(Path(HIB).parent / "ansible-playbook"), "--syntax-check", "-i",
                            str(lab.inventory), str(rendered)], env=lab.env(env_home), cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    proc = subprocess.run([HIB, "run", "--policy", "core", "-i", str(lab.inventory), "--json"],
                          env={**lab.env(env_home), "HIB_POLICY_FILE": str(policy)}, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    # hosts the selection step merely looked at are not part of the run
    assert [(h["host"], h["kind"]) for h in doc["hosts"]] == [(eos[0], "device")]


def test_policy_typo_fails_with_its_line_and_runs_nothing(lab: Lab, tmp_path: Path) -> None:
    policy = tmp_path / "hib.yml"
    policy.write_text("policies:\n  core:\n    hosts: network\n    timout: 20\n")
    proc = subprocess.run([HIB, "run", "--policy", "core", "-i", str(lab.inventory)],
                          env={**lab.env(tmp_path), "HIB_POLICY_FILE": str(policy)}, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"hib: error: {policy}:4: policies.core.timout: unknown key (allowed: check, collect, "
        "forks, groups, hosts, platforms, retention, retries, schedule, timeout, where)"
    )
    assert not (tmp_path / "runner").exists()


def test_live_view_on_a_terminal(lab: Lab, tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(HIB, ["run", "-i", str(lab.inventory), "--platform", "cisco_xr"],
                          env={**lab.env(tmp_path), "TERM": "xterm-256color", "COLUMNS": "120"},
                          cwd=str(REPO), encoding="utf-8", timeout=180, dimensions=(40, 120))
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before
    assert child.exitstatus == 0, screen
    assert "Traceback" not in screen
    assert "hosts" in screen and "━" in screen  # the progress bar was drawn
    assert "run " in screen and "successful" in screen


def test_second_sigint_aborts_at_once_as_interrupted(lab: Lab, tmp_path: Path) -> None:
    hosts = hosts_of(lab, "hp_comware")
    for host in hosts:
        lab.lab("fault", host, "hang")
    try:
        proc = _start(lab, tmp_path, "--platform", "hp_comware", "--timeout", "120", "--json")
        _wait_for_line(proc, "hib run")
        time.sleep(3)  # ansible-playbook is up and both hosts hang in their first attempt
        proc.send_signal(signal.SIGINT)
        _wait_for_line(proc, "cancel requested")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)  # far below the 120 s device timeout
    finally:
        for host in hosts:
            lab.lab("fault", host, "none")
    assert proc.returncode == 3, err
    assert "aborting" in err
    doc = json.loads(out)
    assert doc["status"] == "interrupted"
    # Ansible's workers and the fleet strategy's session interpreters (still hanging on their
    # device) did not outlive the abort
    tag = f"HIB_RUN_ID={doc['id']}".encode()
    left = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if (entry.name.isdigit() and tag in (entry / "environ").read_bytes().split(b"\0")
                    and (b"ansible-playbook" in cmdline or b"pool_worker" in cmdline)):
                left.append(entry.name)
        except OSError:
            continue
    assert left == []
    runs = json.loads(lab.hib("runs", "--json", home=tmp_path).stdout)
    assert runs[0]["status"] == "interrupted"


def test_no_secret_reaches_runner_artifacts_db_or_output(lab: Lab, tmp_path: Path) -> None:
    planted_env = "hibtoken-0f3a9c2d7e11"
    secrets = [s for s in lab.lab("secrets").stdout.splitlines() if s.strip()]
    assert len(secrets) > 16
    env = {**lab.env(tmp_path), "MY_API_TOKEN": planted_env}
    proc = subprocess.run([HIB, "run", "-i", str(lab.inventory), "--json"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    blobs = [proc.stdout, proc.stderr]
    for path in tmp_path.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            blobs.append(path.read_bytes().decode("utf-8", errors="replace"))
    artifacts = list((tmp_path / "runner").rglob("command"))
    assert artifacts, "the runner's command artifact should exist (redacted)"
    everything = "\n".join(blobs)
    assert planted_env not in everything
    leaked = [s for s in [*secrets] if s in everything]
    assert leaked == []


def test_check_mode_reports_changes_and_stores_nothing(lab: Lab, tmp_path: Path) -> None:
    proc = lab.hib("run", "-i", str(lab.inventory), "--platform", "cisco_xr", "--check",
                   "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {h["status"] for h in doc["hosts"]} == {"changed"}
    assert {h["commit"] for h in doc["hosts"]} == {None}
    store = tmp_path / "configs"
    assert not list(store.rglob("*.cfg")), "check mode must not write the store"
