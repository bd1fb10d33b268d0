"""A real lab for the lab tests: started through the real ``hib`` CLI, always stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from netmiko import ConnectHandler

HIB = str(Path(sys.executable).with_name("hib"))

# The config command(s) of each platform (interfaces.md) and the text that rejects a command.
COMMANDS = {
    "cisco_ios": ["show running-config"],
    "cisco_nxos": ["show running-config"],
    "cisco_xr": ["show running-config"],
    "arista_eos": ["show running-config"],
    "juniper_junos": ["show configuration | display set"],
    "huawei": ["display current-configuration"],
    "hp_comware": ["display current-configuration"],
    "linux": ["cat /etc/hostname", "cat /etc/hosts", "cat /etc/ssh/sshd_config"],
}
REJECT = {
    "cisco_ios": "% Invalid input detected at '^' marker.",
    "cisco_nxos": "% Invalid input detected at '^' marker.",
    "cisco_xr": "% Invalid input detected at '^' marker.",
    "arista_eos": "% Invalid input detected at '^' marker.",
    "juniper_junos": "syntax error, expecting <command>.",
    "huawei": "Error: Unrecognized command found at '^' position.",
    "hp_comware": "Error: Unrecognized command found at '^' position.",
    "linux": "bash: frobnicate: command not found",
}
# Volatile lines as interfaces.md lists them (the tests' own view, not the lab's code).
VOLATILE = (
    "! Last configuration change at", "! NVRAM config last updated at", "ntp clock-period",
    "!Time:", "!Running configuration last done at:", "!! Last configuration change at",
    "! Startup-config last modified at", "## Last commit:", "!Last configuration was updated at",
    "# Last saved at", "# Last modified:",
)


def hib(
    home: Path, *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``hib`` CLI with HIB_HOME=home."""
    env = {**os.environ, "HIB_HOME": str(home)}
    proc = subprocess.run([HIB, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"hib {' '.join(args)} -> {proc.returncode}: {proc.stderr}")
    return proc


@dataclass
class Lab:
    """A running lab: its home, inventory path and host variables."""

    home: Path
    inventory: Path

    def hosts(self) -> dict[str, dict[str, Any]]:
        """host -> variables, read from the inventory file."""
        doc = yaml.safe_load(self.inventory.read_text())
        out: dict[str, dict[str, Any]] = {}
        for group in doc["all"]["children"]["network"]["children"].values():
            out.update(group["hosts"])
        return out

    def status(self) -> dict[str, Any]:
        """``hib lab status --json``."""
        return dict(json.loads(hib(self.home, "lab", "status", "--json").stdout))


def connect(hostvars: dict[str, Any], **kw: Any) -> Any:
    """A netmiko connection with the host's real device_type (enable done where it exists)."""
    conn = ConnectHandler(
        device_type=hostvars["hib_platform"], host=hostvars["ansible_host"],
        port=hostvars["ansible_port"], username=hostvars["ansible_user"],
        password=hostvars["ansible_password"], secret=hostvars.get("hib_enable_secret", ""),
        **kw,
    )
    if hostvars.get("hib_enable_secret"):
        conn.enable()
    return conn


def fetch(hostvars: dict[str, Any], **kw: Any) -> str:
    """The device's configuration text (all files joined for linux)."""
    conn = connect(hostvars, **kw)
    try:
        return "\n".join(conn.send_command(cmd) for cmd in COMMANDS[hostvars["hib_platform"]])
    finally:
        conn.disconnect()


def pooled_fetch(hostvars: dict[str, Any], **kw: Any) -> str:
    """:func:`fetch` for use in a thread pool.

    netmiko turns the command-echo check off for hp_comware; then, when the client's threads
    lag, the prompt answering a late extra RETURN of ``find_prompt()`` can pass for the end of
    the output (docs/lab.md). The lab echoes like a pty, so the check works: turn it back on.
    """
    if hostvars["hib_platform"] == "hp_comware":
        kw.setdefault("global_cmd_verify", True)
    return fetch(hostvars, **kw)


def fetch_all(hosts: dict[str, dict[str, Any]], workers: int = 8) -> dict[str, str]:
    """Fetch many devices in a thread pool, like a backup run does."""
    with ThreadPoolExecutor(workers) as pool:
        texts = pool.map(pooled_fetch, hosts.values())
        return dict(zip(hosts, texts, strict=True))


def significant(text: str) -> list[str]:
    """The config without its volatile lines."""
    return [ln for ln in text.splitlines() if not ln.strip().startswith(VOLATILE)]


def start_lab(home: Path, *args: str) -> Lab:
    """``hib lab up ARGS``; the last stdout line is the inventory path."""
    proc = hib(home, "lab", "up", *args)
    inventory = Path(proc.stdout.strip().splitlines()[-1])
    assert inventory.is_file()
    return Lab(home, inventory)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """16 devices, two of each platform, for the whole session."""
    home = tmp_path_factory.mktemp("labhome")
    try:
        yield start_lab(home, "--devices", "16", "--seed", "tests")
    finally:
        hib(home, "lab", "down", check=False)
