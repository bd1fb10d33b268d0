"""Fleet benchmark: how close does an Ansible-driven backup get to the raw netmiko floor?

Measures, against one lab and in the same run (machines here are shared and noisy; medians of
``--repeats`` runs and their spread are printed):

  (a) raw netmiko in a ThreadPoolExecutor (the floor; 20/50/100 workers, best kept),
  (b) ansible-playbook playbooks/backup.yml (forks 20/50/100, best kept),
  (c) hib run (same playbook through ansible-runner, live view off),
  (d) RANCID clogin in parallel (xargs -P 50), when the Debian package is installed.

Usage:  .venv/bin/python bench/fleet.py --devices 1000 [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BIN,
    Sample,
    lab,
    measure_inprocess,
    measure_subprocess,
    median_spread,
    print_table,
)

CLOGIN = shutil.which("clogin") or "/usr/lib/rancid/bin/clogin"


def devices(inventory: Path) -> list[tuple[str, dict]]:
    inv = yaml.safe_load(inventory.read_text())
    out = []
    for group in inv["all"]["children"]["network"]["children"].values():
        out.extend((group.get("hosts") or {}).items())
    return out


def netmiko_floor(hosts: list[tuple[str, dict]], workers: int) -> int:
    from netmiko import ConnectHandler

    def fetch(item: tuple[str, dict]) -> int:
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
        sizes = list(pool.map(fetch, hosts))
    assert all(s > 1000 for s in sizes), "a device returned a short config"
    return len(sizes)


def fresh_env(env: dict[str, str]) -> dict[str, str]:
    home = tempfile.mkdtemp(prefix="hib-bench-run-")
    return {**env, "HIB_HOME": home, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.null"}


def run_clogin(hosts: list[tuple[str, dict]], parallel: int) -> Sample:
    tmp = Path(tempfile.mkdtemp(prefix="hib-bench-clogin-"))
    rc = tmp / ".cloginrc"
    lines = []
    for _name, v in hosts:
        addr = v["ansible_host"]
        lines += [f"add user {addr} {v['ansible_user']}",
                  f"add password {addr} {v['ansible_password']} {v.get('hib_enable_secret', '')}",
                  f"add method {addr} ssh:{v['ansible_port']}",
                  f"add sshcmd {addr} {{ssh -o StrictHostKeyChecking=no "
                  f"-o UserKnownHostsFile=/dev/null}}"]
    rc.write_text("\n".join(lines) + "\n")
    rc.chmod(0o600)
    addrs = "\n".join(v["ansible_host"] for _n, v in hosts)
    cmd = ["bash", "-c", f"printf '%s\\n' \"$ADDRS\" | xargs -P {parallel} -I{{}} "
           f"{CLOGIN} -f {rc} -c 'show running-config' {{}} > /dev/null"]
    return measure_subprocess(cmd, {**os.environ, "ADDRS": addrs, "HOME": str(tmp)})


def keep_best(
    best: dict[str, tuple[str, list[Sample]]], key: str, label: str, samples: list[Sample]
) -> None:
    """Keep the configuration with the lowest median wall time under ``key``."""
    if key not in best or median_spread(samples, "wall_s") < median_spread(best[key][1], "wall_s"):
        best[key] = (label, samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--platforms", default="cisco_ios",
                    help="lab platforms (cisco_ios keeps RANCID comparable)")
    ap.add_argument("--workers", default="20,50,100")
    ap.add_argument("--forks", default="20,50,100")
    args = ap.parse_args()
    results: dict[str, list[Sample]] = {}
    with lab(args.devices, args.platforms) as (env, inventory):
        hosts = devices(inventory)
        n = len(hosts)
        best: dict[str, tuple[str, list[Sample]]] = {}
        for w in [int(x) for x in args.workers.split(",")]:
            samples = [measure_inprocess(lambda w=w: netmiko_floor(hosts, w))
                       for _ in range(args.repeats)]
            keep_best(best, "a", f"{w} workers", samples)
        for f in [int(x) for x in args.forks.split(",")]:
            cmd = [str(BIN / "ansible-playbook"), "playbooks/backup.yml", "-i", str(inventory),
                   "--forks", str(f)]
            samples = [measure_subprocess(cmd, fresh_env(env)) for _ in range(args.repeats)]
            keep_best(best, "b", f"forks {f}", samples)
        fbest = best["b"][0].split()[-1]
        cmd = [str(BIN / "hib"), "run", "-i", str(inventory), "--forks", fbest, "--json"]
        best["c"] = (f"forks {fbest}", [measure_subprocess(cmd, fresh_env(env))
                                        for _ in range(args.repeats)])
        if Path(CLOGIN).exists():
            best["d"] = ("xargs -P 50", [run_clogin(hosts, 50) for _ in range(args.repeats)])
        results = {k: v[1] for k, v in best.items()}
        labels = {"a": "netmiko threadpool (floor)", "b": "ansible-playbook backup.yml",
                  "c": "hib run", "d": "RANCID clogin"}
        floor = median_spread(results["a"], "wall_s")[0]
        rows = []
        for key, samples in results.items():
            wall, spread = median_spread(samples, "wall_s")
            cpu, _ = median_spread(samples, "cpu_s")
            rss, _ = median_spread(samples, "peak_rss_mb")
            rows.append([key, labels[key], best[key][0], f"{wall:.1f} s", f"±{spread / 2:.1f}",
                         f"{wall / floor:.2f}x", f"{cpu * 1000 / n:.1f}", f"{rss:.0f}"])
        print_table(f"fleet: {n} devices ({args.platforms}), {args.repeats} repeats, "
                    f"{os.cpu_count()} cores", ["", "what", "best", "wall (median)", "spread",
                                                "vs floor", "CPU ms/device", "peak RSS MB"], rows)


if __name__ == "__main__":
    main()
