"""End to end: real ansible-playbook runs of playbooks/backup.yml against a real `hib lab`."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from hib_orchestrator.configstore import path_for
from hib_orchestrator.configstore.files import store_lock

PLATFORMS = {"cisco_ios", "cisco_nxos", "cisco_xr", "arista_eos", "juniper_junos", "huawei",
             "hp_comware", "linux"}
END_MARKERS = {"cisco_ios": "end", "cisco_xr": "end", "arista_eos": "end", "huawei": "return",
               "hp_comware": "return"}


Lab = Any
PlaybookRun = Any


def git(store: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=store, capture_output=True, text=True,
                          check=True).stdout


def _head(lab: Lab) -> str:
    return git(lab.store, "rev-parse", "HEAD").strip()


def _all_blobs_text(store: Path) -> str:
    """Every blob ever committed, plus the work tree and staging leftovers."""
    objects = git(store, "rev-list", "--objects", "--all").split("\n")
    shas = [line.split(" ", 1)[0] for line in objects if line.strip()]
    batch = subprocess.run(["git", "cat-file", "--batch"], cwd=store, capture_output=True,
                           input=("\n".join(shas) + "\n").encode(), check=True).stdout
    batch_text = batch.decode(errors="replace")
    files = [p.read_text(errors="replace") for p in store.rglob("*") if p.is_file()]
    return batch_text + "\n".join(files)


def _overlay(tmp_path: Path, hostvars: dict[str, dict[str, Any]]) -> Path:
    """An extra inventory source adding host variables (merged by Ansible)."""
    path = tmp_path / "overlay.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": hostvars}}))
    return path


@pytest.fixture(scope="module")
def baseline(lab: Lab) -> PlaybookRun:
    """The first backup of the whole lab."""
    run = lab.run(tag="baseline")
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


def test_every_platform_is_backed_up_masked_in_one_commit(lab: Lab, baseline: PlaybookRun
                                                          ) -> None:
    hosts = lab.hosts()
    assert {v["hib_platform"] for v in hosts.values()} == PLATFORMS
    devices = baseline.devices()
    assert set(devices) == set(hosts)
    for host, result in devices.items():
        assert result["changed"] is True and result["hib_kind"] == "device", (host, result)
        # Usually 1; a loaded machine may need a retry, which is the retry policy working.
        assert result["path"] == path_for(host) and result["attempts"] >= 1, (host, result)
        stored = (lab.store / result["path"]).read_text()
        assert result["size_bytes"] == len(stored.encode()), (host, result)
        platform = hosts[host]["hib_platform"]
        last = [line for line in stored.splitlines() if line.strip()][-1]
        if platform in END_MARKERS:
            assert last == END_MARKERS[platform], (host, last)
        if platform != "linux":
            assert "<removed>" in stored, host
        assert "ntp clock-period" not in stored
    commit = baseline.commit()
    assert commit is not None and commit["commit"] == _head(lab)
    assert sorted(commit["hosts"]) == sorted(hosts), commit
    message = git(lab.store, "log", "-1", "--format=%B")
    assert f"Hib-Run: {commit['run_id']}" in message
    assert all(f"- {host}" in message for host in hosts)
    assert git(lab.store, "rev-list", "--count", "HEAD").strip() == "1"


def test_planted_secrets_never_reach_the_store(lab: Lab, baseline: PlaybookRun) -> None:
    everything = _all_blobs_text(lab.store)
    secrets = lab.secrets()
    assert len(secrets) > 20
    leaked = [s for s in secrets if s in everything]
    assert leaked == []


def test_second_run_changes_nothing_and_commits_nothing(lab: Lab, baseline: PlaybookRun) -> None:
    head = _head(lab)
    run = lab.run(tag="again")
    assert run.rc == 0
    assert all(r["changed"] is False for r in run.devices().values())
    assert len(run.devices()) == len(lab.hosts())
    commit = run.commit()
    assert commit is not None and commit["commit"] is None and commit["hosts"] == []
    assert "changed=0" in run.stdout and "changed=1" not in run.stdout
    assert _head(lab) == head


def test_mutated_devices_and_only_they_are_committed_with_masked_diff(
    lab: Lab, baseline: PlaybookRun
) -> None:
    head = _head(lab)
    mutated = lab.mutate(5)
    assert len(mutated) == 5
    run = lab.run("-vvv", "--diff", tag="mutate")
    assert run.rc == 0
    changed = sorted(h for h, r in run.devices().items() if r["changed"])
    assert changed == sorted(mutated)
    commit = run.commit()
    assert commit is not None and sorted(commit["hosts"]) == sorted(mutated)
    assert git(lab.store, "rev-parse", "HEAD~1").strip() == head
    files = git(lab.store, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(files) == sorted(path_for(h) for h in mutated)
    assert f"Hib-Run: {commit['run_id']}" in git(lab.store, "log", "-1", "--format=%B")
    # --diff shows the change (masked), and -vvv output holds no secret at all.
    assert run.device(mutated[0])["diff"]["after"] == (
        lab.store / path_for(mutated[0])).read_text()
    output = run.stdout + run.stderr
    assert "+++" in output or "after" in output
    leaked = [s for s in lab.secrets() if s in output]
    assert leaked == []


def test_check_mode_reports_changes_but_stores_nothing(lab: Lab, baseline: PlaybookRun) -> None:
    head = _head(lab)
    mutated = lab.mutate(2)
    before = {h: (lab.store / path_for(h)).read_text() for h in mutated}
    run = lab.run("--check", tag="check")
    assert run.rc == 0
    assert sorted(h for h, r in run.devices().items() if r["changed"]) == sorted(mutated)
    assert all(not r["staged"] for r in run.devices().values())
    assert _head(lab) == head
    assert before == {h: (lab.store / path_for(h)).read_text() for h in mutated}
    staging = lab.store / ".git" / "hib" / "staging"
    assert not staging.exists() or not any(staging.iterdir())
    # A real run then takes exactly those changes.
    real = lab.run(tag="after-check")
    assert sorted((real.commit() or {}).get("hosts", [])) == sorted(mutated)


def test_fault_modes_fail_with_their_code_and_keep_the_last_good_copy(
    lab: Lab, baseline: PlaybookRun, tmp_path: Path
) -> None:
    hosts = sorted(lab.hosts())
    first = {}
    for host in hosts:
        first.setdefault(lab.hosts()[host]["hib_platform"], host)
    faults = {"auth": first["juniper_junos"], "hang": first["cisco_nxos"],
              "refuse": first["cisco_xr"], "truncate": first["huawei"], "slow": first["linux"],
              "enable": first["cisco_ios"]}
    slow_ok = first["hp_comware"]
    expected = {"auth": "AUTH_FAILED", "hang": "TIMEOUT", "refuse": "UNREACHABLE",
                "truncate": "TRUNCATED_OUTPUT", "slow": "TIMEOUT", "enable": "AUTH_FAILED"}
    mutated = set(lab.mutate(len(hosts)))  # everything changed: failures must not store it
    before = {h: (lab.store / path_for(h)).read_text() for h in hosts}
    overlay = _overlay(tmp_path, {
        **{h: {"hib_timeout": 3, "hib_retries": 1} for h in faults.values()},
        faults["enable"]: {"hib_timeout": 3, "hib_retries": 1,
                           "hib_enable_secret": "not-the-enable-secret"},
        slow_ok: {"hib_timeout": 60},
    })
    try:
        for kind, host in faults.items():
            if kind != "enable":  # that one is a wrong hib_enable_secret, not a lab fault
                lab.fault(host, kind)
        lab.fault(slow_ok, "slow")
        run = lab.run(extra_inventory=overlay, tag="faults")
    finally:
        for host in [*faults.values(), slow_ok]:
            lab.fault(host, "none")
    assert run.rc != 0
    devices = run.devices()
    for kind, host in faults.items():
        result = devices[host]
        assert result["error_code"] == expected[kind], (kind, result)
        # a refused connection is Ansible-unreachable, every other fault a failed task
        status = run.ansible_status(host)
        assert status == ("unreachable" if kind == "refuse" else "failed"), (kind, status)
        assert len(result["msg"].splitlines()) == 1
        assert (lab.store / path_for(host)).read_text() == before[host]
        retried = kind not in ("auth", "enable")
        assert result["attempts"] == (2 if retried else 1), (kind, result)
    ok_hosts = set(hosts) - set(faults.values())
    committed = set((run.commit() or {}).get("hosts", []))
    assert committed == ok_hosts & mutated
    for host in ok_hosts:
        assert devices[host].get("failed") is not True, (host, devices[host])


def test_a_legitimate_big_shrink_needs_accept_size_drop(lab: Lab, baseline: PlaybookRun,
                                                        tmp_path: Path) -> None:
    host = next(h for h, v in lab.hosts().items() if v["hib_platform"] == "cisco_nxos")
    before = (lab.store / path_for(host)).read_text()
    overlay = _overlay(tmp_path, {host: {"hib_delete_lines": ["^(?!hostname|version).*$"],
                                         "hib_min_lines": 1}})
    run = lab.run("--limit", host, extra_inventory=overlay, tag="shrink")
    assert run.device(host)["error_code"] == "TRUNCATED_OUTPUT"
    assert "shrank" in run.device(host)["msg"]
    assert (lab.store / path_for(host)).read_text() == before
    (tmp_path / "overlay.yml").unlink()
    overlay = _overlay(tmp_path, {host: {"hib_delete_lines": ["^(?!hostname|version).*$"],
                                         "hib_min_lines": 1, "hib_accept_size_drop": True}})
    run = lab.run("--limit", host, extra_inventory=overlay, tag="shrink-ok")
    assert run.rc == 0 and run.device(host)["changed"] is True
    assert len((lab.store / path_for(host)).read_text()) < len(before) // 2
    restore = lab.run("--limit", host, "-e", "hib_accept_size_drop=true", tag="restore")
    assert restore.rc == 0 and (lab.store / path_for(host)).read_text().count("\n") > 20


def test_concurrent_runs_serialise_on_the_store_lock(lab: Lab, baseline: PlaybookRun) -> None:
    lab.mutate(3)
    head = _head(lab)
    lock = lab.store / ".git" / "hib" / "lock"
    # Held by someone else for longer than the bound: the run fails with STORE_LOCKED.
    with store_lock(lock, timeout=5):
        blocked = lab.run("-e", "hib_store_lock_timeout=1", tag="blocked")
    commit = blocked.commit()
    assert commit is not None and commit["error_code"] == "STORE_LOCKED"
    assert blocked.rc != 0 and _head(lab) == head
    # Two real runs at once: both succeed, one after the other, the store stays consistent.
    runs: dict[str, PlaybookRun] = {}

    def go(tag: str) -> None:
        runs[tag] = lab.run(tag=tag)

    threads = [threading.Thread(target=go, args=(t,)) for t in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs["a"].rc == 0 and runs["b"].rc == 0
    commits = [r.commit()["commit"] for r in runs.values() if r.commit()]  # type: ignore[index]
    made = [c for c in commits if c]
    assert len(made) >= 1
    assert git(lab.store, "rev-list", "--count", f"{head}..HEAD").strip() == str(len(made))
    assert git(lab.store, "status", "--porcelain") == ""
    git(lab.store, "fsck", "--no-progress")


def test_unsafe_host_names_are_refused_before_connecting(lab: Lab, tmp_path: Path,
                                                          playbook: Any) -> None:
    real = next(iter(lab.hosts().values()))
    inventory = tmp_path / "evil.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"network": {"hosts": {
        "../../escape": dict(real), "..": dict(real)}}}}}))
    home = tmp_path / "home"
    home.mkdir()
    run = playbook(home, [inventory], tag="evil")
    assert run.rc != 0
    for host in ("../../escape", ".."):
        assert run.device(host)["error_code"] == "BAD_CONFIG"
        assert run.device(host)["attempts"] == 0
    assert not (tmp_path / "escape").exists() and not (home.parent / "escape").exists()
    store = home / "configs"
    assert not store.exists() or [p.name for p in store.iterdir()] in ([], [".git"])


def test_a_real_openssh_linux_host_is_backed_up_byte_for_byte(sshd_peer: Any, tmp_path: Path,
                                                             playbook: Any) -> None:
    inventory = tmp_path / "peer.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"network": {"hosts": {"peer-1": {
        "ansible_host": "127.0.0.1", "ansible_port": sshd_peer.port,
        "ansible_user": sshd_peer.user,
        "ansible_ssh_private_key_file": str(sshd_peer.client_key),
        "hib_platform": "linux", "hib_commands": [f"cat {sshd_peer.config}"]}}}}}}))
    home = tmp_path / "home"
    home.mkdir()
    run = playbook(home, [inventory], tag="peer")
    assert run.rc == 0, run.stdout[-2000:]
    result = run.device("peer-1")
    assert result["changed"] is True
    stored = (home / "configs" / path_for("peer-1")).read_text()
    assert stored == sshd_peer.config.read_text()
    assert (run.commit() or {}).get("hosts") == ["peer-1"]
    again = playbook(home, [inventory], tag="peer-again")
    assert again.rc == 0 and again.device("peer-1")["changed"] is False


def test_an_unusable_store_is_store_error_for_the_host(sshd_peer: Any, tmp_path: Path,
                                                       playbook: Any) -> None:
    inventory = tmp_path / "peer.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"network": {"hosts": {"peer-2": {
        "ansible_host": "127.0.0.1", "ansible_port": sshd_peer.port,
        "ansible_user": sshd_peer.user,
        "ansible_ssh_private_key_file": str(sshd_peer.client_key),
        "hib_platform": "linux", "hib_commands": [f"cat {sshd_peer.config}"]}}}}}}))
    not_a_dir = tmp_path / "store-is-a-file"
    not_a_dir.write_text("")
    home = tmp_path / "home"
    home.mkdir()
    run = playbook(home, [inventory], tag="badstore", env={"HIB_CONFIG_STORE": str(not_a_dir)})
    assert run.rc != 0
    result = run.device("peer-2")
    assert result["error_code"] == "STORE_ERROR" and len(result["msg"].splitlines()) == 1
    assert not_a_dir.read_text() == ""


def test_network_os_fqcn_unknown_and_missing_platforms(lab: Lab, tmp_path: Path,
                                                       playbook: Any) -> None:
    ios = next(dict(v) for v in lab.hosts().values() if v["hib_platform"] == "cisco_ios")
    ios.pop("hib_platform")
    hosts = {
        "fqcn-1": {**ios, "ansible_network_os": "cisco.ios.ios", "hib_timeout": "20",
                   "hib_mask_secrets": [r"^hostname (?P<secret>\S+)"]},
        "clear-1": {**ios, "hib_platform": "cisco_ios", "hib_mask_secrets": False},
        "acme-1": {**ios, "hib_platform": "acme_os"},
        "none-1": dict(ios),
    }
    inventory = tmp_path / "variants.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"network": {"hosts": hosts}}}}))
    home = tmp_path / "home"
    home.mkdir()
    run = playbook(home, [inventory], tag="variants")
    assert run.device("fqcn-1")["changed"] is True
    fqcn = (home / "configs" / path_for("fqcn-1")).read_text()
    assert fqcn.endswith("\nend\n")
    assert "\nhostname <removed>\n" in fqcn and "\nenable secret 9 <removed>\n" in fqcn
    clear = (home / "configs" / path_for("clear-1")).read_text()
    assert "<removed>" not in clear and any(s in clear for s in lab.secrets())
    assert run.device("acme-1")["error_code"] == "UNSUPPORTED_PLATFORM"
    assert run.device("none-1")["error_code"] == "BAD_CONFIG"
    assert (run.commit() or {}).get("hosts") == ["clear-1", "fqcn-1"]
