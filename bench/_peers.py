"""The non-Ansible clients bench/fleet.py measures hib against: the netmiko floor, nornir, clogin.

The floor and nornir run as their own processes (``python bench/_peers.py floor|nornir INVENTORY
THREADS``) so that their CPU and memory are measured like any other command's, without the bench
process in them::

    .venv/bin/python bench/_peers.py floor  /tmp/lab/inventory.yml 50
    .venv/bin/python bench/_peers.py nornir /tmp/lab/inventory.yml 50

Each exits non-zero when a device returned a short config (or nothing), so a broken peer never
passes for a fast one.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

PEERS = Path(__file__).resolve()
CLOGIN = shutil.which("clogin") or "/usr/lib/rancid/bin/clogin"
# A full lab config is ~400 lines; anything under this is a failed or truncated fetch.
MIN_CONFIG_CHARS = 1000


def devices(inventory: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(name, vars)`` of every device in a lab inventory."""
    inv = yaml.safe_load(inventory.read_text())
    out: list[tuple[str, dict[str, Any]]] = []
    for group in inv["all"]["children"]["network"]["children"].values():
        out.extend((group.get("hosts") or {}).items())
    return out


def _check(sizes: list[int]) -> None:
    short = sum(1 for s in sizes if s < MIN_CONFIG_CHARS)
    if short:
        sys.exit(f"{short} of {len(sizes)} devices returned a short config")


def floor_main(inventory: Path, workers: int) -> None:
    """(a) netmiko ConnectHandler per device in a thread pool: the least any netmiko client pays."""
    from concurrent.futures import ThreadPoolExecutor

    from netmiko import ConnectHandler

    def fetch(item: tuple[str, dict[str, Any]]) -> int:
        _name, v = item
        conn = ConnectHandler(
            device_type=v["hib_platform"], host=v["ansible_host"], port=v["ansible_port"],
            username=v["ansible_user"], password=v["ansible_password"],
            secret=v.get("hib_enable_secret", ""), fast_cli=True,
        )
        try:
            if v.get("hib_enable_secret"):
                conn.enable()
            return len(conn.send_command("show running-config", read_timeout=60))
        finally:
            conn.disconnect()

    with ThreadPoolExecutor(workers) as pool:
        _check(list(pool.map(fetch, devices(inventory))))


def nornir_missing() -> str | None:
    """Why nornir cannot run here (``None`` when it can)."""
    missing = [m for m in ("nornir", "nornir_netmiko") if importlib.util.find_spec(m) is None]
    if missing:
        return (f"{' and '.join(missing)} not installed in {sys.prefix} "
                f"(pip install -e '.[bench]')")
    return None


def nornir_main(inventory: Path, workers: int) -> None:
    """(g) nornir's threaded runner with nornir_netmiko, as a user of nornir would write it.

    The lab inventory is turned into nornir's SimpleInventory files first (inside the measured
    process: loading its inventory is part of what a nornir run costs).
    """
    from nornir import InitNornir
    from nornir.core.task import Result, Task
    from nornir_netmiko.tasks import netmiko_send_command

    tmp = Path(tempfile.mkdtemp(prefix="hib-bench-nornir-"))
    try:
        hosts = {
            name: {
                "hostname": v["ansible_host"], "port": v["ansible_port"],
                "username": v["ansible_user"], "password": v["ansible_password"],
                "platform": v["hib_platform"],
                "connection_options": {"netmiko": {"extras": {
                    "secret": v.get("hib_enable_secret", ""), "fast_cli": True}}},
                "data": {"enable": bool(v.get("hib_enable_secret"))},
            }
            for name, v in devices(inventory)
        }
        (tmp / "hosts.yaml").write_text(yaml.safe_dump(hosts))
        (tmp / "groups.yaml").write_text("{}\n")
        (tmp / "defaults.yaml").write_text("{}\n")
        nr = InitNornir(
            runner={"plugin": "threaded", "options": {"num_workers": workers}},
            inventory={"plugin": "SimpleInventory", "options": {
                "host_file": str(tmp / "hosts.yaml"), "group_file": str(tmp / "groups.yaml"),
                "defaults_file": str(tmp / "defaults.yaml")}},
            logging={"enabled": False},
        )

        def backup(task: Task) -> Result:
            # One session per device, closed in the same worker (like the floor and hib).
            try:
                return netmiko_send_command(task, command_string="show running-config",
                                            enable=task.host.data["enable"], read_timeout=60)
            finally:
                task.host.close_connections()

        result = nr.run(task=backup)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if result.failed:
        sys.exit(f"nornir: {len(result.failed_hosts)} devices failed, "
                 f"e.g. {next(iter(result.failed_hosts))}")
    _check([len(r[0].result or "") for r in result.values()])


def clogin_setup(hosts: list[tuple[str, dict[str, Any]]], tmp: Path) -> tuple[Path, str]:
    """A .cloginrc and ssh wrapper for the lab in ``tmp`` (see docs/lab.md); (rc, addresses)."""
    wrapper = tmp / "lab-ssh"
    # clogin glues sshcmd words together, so ssh options go in a wrapper script.
    wrapper.write_text("#!/bin/sh\nexec ssh -o StrictHostKeyChecking=no "
                       "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \"$@\"\n")
    wrapper.chmod(0o755)
    rc = tmp / "cloginrc"
    lines = []
    for _name, v in hosts:
        addr = v["ansible_host"]
        lines += [f"add user {addr} {v['ansible_user']}",
                  f"add password {addr} {{{v['ansible_password']}}} "
                  f"{{{v.get('hib_enable_secret', '')}}}",
                  f"add method {addr} ssh:{v['ansible_port']}",
                  f"add sshcmd {addr} {wrapper}"]
    rc.write_text("\n".join(lines) + "\n")
    rc.chmod(0o600)
    return rc, "\n".join(v["ansible_host"] for _n, v in hosts) + "\n"


def clogin_script(rc: Path, out: Path, parallel: int) -> str:
    """``xargs -P`` over clogin, reading addresses on stdin; each device's output in a file."""
    return (f"xargs -P {parallel} -I@ sh -c "
            f"'{CLOGIN} -f {rc} -c \"show running-config\" @ > {out}/@.txt 2>&1'")


def main() -> None:
    """``_peers.py floor|nornir INVENTORY THREADS``."""
    if len(sys.argv) != 4 or sys.argv[1] not in ("floor", "nornir"):
        sys.exit(f"usage: {sys.argv[0]} floor|nornir INVENTORY THREADS")
    run = floor_main if sys.argv[1] == "floor" else nornir_main
    run(Path(sys.argv[2]), int(sys.argv[3]))


if __name__ == "__main__":
    main()
