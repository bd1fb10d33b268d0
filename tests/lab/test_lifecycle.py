"""``up`` is idempotent, a new spec restarts, ``down`` leaves nothing behind."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.lab.conftest import HIB, Lab, hib, start_lab


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_up_twice_is_idempotent(lab: Lab) -> None:
    pid = lab.status()["pid"]
    proc = hib(lab.home, "lab", "up", "--devices", "16", "--seed", "tests")
    assert proc.stdout.strip().splitlines()[-1] == str(lab.inventory)
    assert "already running" in proc.stdout
    assert lab.status()["pid"] == pid


def test_status_json_shape(lab: Lab) -> None:
    info = lab.status()
    assert info["running"] is True and info["inventory"] == str(lab.inventory)
    assert info["providers"] == []
    assert len(info["devices"]) == 16
    assert set(info["devices"][0]) >= {"host", "platform", "address", "fault"}
    assert hib(lab.home, "lab", "inventory").stdout.strip() == str(lab.inventory)


def test_new_spec_restarts_and_down_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "hib"
    try:
        first = start_lab(home, "--devices", "2", "--platforms", "cisco_ios,linux")
        pid1 = first.status()["pid"]
        second = start_lab(home, "--devices", "3", "--platforms", "cisco_ios,linux")
        info = second.status()
        assert info["pid"] != pid1 and not _alive(pid1)
        assert sorted(second.hosts()) == ["ios-001", "ios-003", "linux-002"]
        addresses = [(d["address"], info["port"]) for d in info["devices"]]
    finally:
        hib(home, "lab", "down")
    assert not _alive(info["pid"])
    for address in addresses:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, 2)
    assert hib(home, "lab", "status", "--json").stdout.count('"running": false') == 1
    assert hib(home, "lab", "down").returncode == 0  # nothing running is fine
    proc = hib(home, "lab", "inventory", check=False)
    assert proc.returncode == 2 and "no lab is running" in proc.stderr


def test_bad_platform_is_exit_2(tmp_path: Path) -> None:
    proc = hib(tmp_path, "lab", "up", "--platforms", "cisco_ios,toaster", check=False)
    assert proc.returncode == 2 and "toaster" in proc.stderr


def test_python_api_and_image_hosts_hook(tmp_path: Path) -> None:
    from hib_orchestrator import lab as labapi
    from hib_orchestrator.settings import load_settings

    settings = load_settings({"HIB_HOME": str(tmp_path / "hib")})
    try:
        result = labapi.up(settings, labapi.LabSpec(2, ("linux",), "api"))
        assert result.started and labapi.inventory_path(settings) == result.inventory
        labapi.set_fault(settings, "linux-002", "slow")
        faults = {d["host"]: d["fault"] for d in labapi.status(settings)["devices"]}
        assert faults == {"linux-001": "none", "linux-002": "slow"}
        assert len(labapi.mutate(settings, 1)) == 1
        labapi.add_image_hosts(result.inventory, {"s3-1": {"hib_provider": "s3"}})
        doc = yaml.safe_load(result.inventory.read_text())
        children = doc["all"]["children"]
        assert children["image_hosts"]["hosts"]["s3-1"] == {"hib_provider": "s3"}
        assert set(children["network"]["children"]["linux"]["hosts"]) == {"linux-001",
                                                                          "linux-002"}
    finally:
        assert labapi.down(settings) is True
    assert labapi.status(settings)["running"] is False


def test_concurrent_ups_share_one_daemon(tmp_path: Path) -> None:
    env = {**os.environ, "HIB_HOME": str(tmp_path)}
    cmd = [HIB, "lab", "up", "--devices", "2", "--platforms", "linux"]
    try:
        procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=120)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs)
        pids = {re.search(r"\(pid (\d+)\)", out)[1] for out in outs}  # type: ignore[index]
        assert len(pids) == 1
        assert sum("already running" in out for out in outs) == 1
    finally:
        hib(tmp_path, "lab", "down")
