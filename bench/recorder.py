"""Recorder benchmark: the same run without the recorder, with SQLite and with PostgreSQL.

Two workloads, each with HOSTS hosts:

  local    a cheap playbook (``ansible_connection: local``, TASKS ``debug`` tasks per host): the
           recorder's worst case relative to the work done;
  devices  the real device backup, ``playbooks/backup.yml`` against a `hib lab` of HOSTS
           devices (store pre-filled by one unmeasured run, so every measured run is the nightly
           no-change case).

Variants, interleaved within each repeat (off, sqlite, postgres, off, ...) so drift on a shared
machine hits all of them alike:

  off       ANSIBLE_CONFIG = a copy of ansible.cfg without ``callbacks_enabled`` (no recorder);
  sqlite    the repository's ansible.cfg, default ``$HIB_HOME/hib.db``;
  postgres  the same with ``HIB_DB_URL`` on a throwaway PostgreSQL cluster started here (default
            durability settings); skipped when PostgreSQL is not installed.

After every recorded run, ``hib runs show latest --json`` must list every host. Controller CPU
includes the recorder's writer process (a child of ansible-playbook); PostgreSQL's own CPU is
reported separately.

Usage:  .venv/bin/python bench/recorder.py --hosts 1000 [--repeats 3] [--workloads local,devices]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BIN,
    ROOT,
    Sample,
    banner,
    bench_env,
    lab,
    measure,
    med,
    postgres,
    print_table,
    scratch,
    spread,
)


def config_without_recorder(tmp: Path) -> Path:
    """A copy of ansible.cfg with no callbacks_enabled and an absolute collections_path.

    (An empty ANSIBLE_CALLBACKS_ENABLED makes ansible-core 2.19 fail with "A non-empty plugin
    name is required", so the setting is removed from a copy instead.)
    """
    text = (ROOT / "ansible.cfg").read_text()
    text = re.sub(r"(?m)^callbacks_enabled\s*=.*$", "", text)
    text = re.sub(r"(?m)^collections_path\s*=.*$", f"collections_path = {ROOT / 'collections'}",
                  text)
    cfg = tmp / "ansible-no-recorder.cfg"
    cfg.write_text(text)
    return cfg


def local_workload(tmp: Path, hosts: int, tasks: int) -> tuple[Path, Path]:
    """Inventory of ``hosts`` local hosts and a playbook of ``tasks`` debug tasks."""
    inv = tmp / "local-inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "hosts": {f"h{i:05d}": None for i in range(hosts)}}}))
    play = tmp / "local-playbook.yml"
    play.write_text(yaml.safe_dump([{
        "name": "cheap", "hosts": "all", "gather_facts": False,
        "tasks": [{"name": f"debug {t}",
                   "ansible.builtin.debug": {"msg": "{{ inventory_hostname }}"}}
                  for t in range(tasks)]}]))
    return inv, play


def recorded_hosts(env: dict[str, str]) -> int:
    """How many hosts the latest recorded run lists (-1 when it cannot be read)."""
    out = subprocess.run([str(BIN / "hib"), "runs", "show", "latest", "--json"], env=env,
                         cwd=ROOT, capture_output=True, text=True, check=False)
    try:
        return len(json.loads(out.stdout)["hosts"])
    except (ValueError, KeyError):
        return -1


def run_workload(
    name: str, cmd: list[str], envs: dict[str, dict[str, str]], repeats: int, n: int,
    server_pids: dict[str, list[int]],
) -> dict[str, list[Sample]]:
    """Interleaved repeats of ``cmd`` under each variant's environment."""
    out: dict[str, list[Sample]] = {v: [] for v in envs}
    for i in range(repeats):
        for variant, env in envs.items():
            s = measure(cmd, env, server_pids=server_pids.get(variant, []))
            if variant != "off":
                s.extra["recorded"] = recorded_hosts(env)
            out[variant].append(s)
            print(f"  {name} {variant} #{i + 1}: {s.wall_s:.2f} s wall, {s.cpu_s:.2f} s CPU, "
                  f"rc {s.rc}, recorded {int(s.extra.get('recorded', 0))}/{n}", flush=True)
    return out


def report(name: str, n: int, results: dict[str, list[Sample]], repeats: int) -> None:
    """One table per workload, overheads against ``off``."""
    base_wall = med(results["off"], "wall_s")
    base_cpu = med(results["off"], "cpu_s")
    rows = []
    for variant, samples in results.items():
        wall, cpu = med(samples, "wall_s"), med(samples, "cpu_s")
        rec = "-" if variant == "off" else f"{min(s.extra['recorded'] for s in samples):.0f}/{n}"
        rows.append([variant, f"{wall:.2f} s", f"{spread(samples, 'wall_s'):.2f}",
                     f"{(wall / base_wall - 1) * 100:+.1f}%", f"{cpu:.2f} s",
                     f"{(cpu / base_cpu - 1) * 100:+.1f}%",
                     f"{med(samples, 'server_cpu_s'):.2f} s" if variant == "postgres" else "-",
                     f"{med(samples, 'peak_rss_mb'):.0f}", f"{med(samples, 'tree_pss_mb'):.0f}",
                     rec])
    print_table(f"recorder, workload {name}: {n} hosts, median of {repeats}, interleaved",
                ["variant", "wall", "spread", "wall vs off", "ctl CPU", "CPU vs off",
                 "db server CPU", "max RSS MB", "tree PSS MB", "recorded (min)"], rows)


def main() -> None:
    """Run the recorder benchmark and print its tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=3, help="debug tasks per host (local workload)")
    ap.add_argument("--forks", type=int, default=50)
    ap.add_argument("--workloads", default="local,devices")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    workloads = args.workloads.split(",")
    banner(f"recorder benchmark: {args.hosts} hosts, workloads {workloads}, forks {args.forks}, "
           f"{args.repeats} repeats")
    tmp = scratch("hib-bench-rec-")
    no_rec_cfg = config_without_recorder(tmp)
    with ExitStack() as stack:
        pg = None if args.no_postgres else stack.enter_context(postgres())
        if pg is None and not args.no_postgres:
            print("  postgres: no /usr/lib/postgresql/*/bin; variant skipped")
        store = tmp / "configs"

        def envs(workload: str) -> dict[str, dict[str, str]]:
            base = {"HIB_CONFIG_STORE": str(store / workload)}
            out = {"off": bench_env(**base, ANSIBLE_CONFIG=str(no_rec_cfg)),
                   "sqlite": bench_env(**base)}
            if pg is not None:
                out["postgres"] = bench_env(**base, HIB_DB_URL=pg.url)
            return out

        servers = {"postgres": [pg.pid]} if pg is not None else {}
        if "local" in workloads:
            inv, play = local_workload(tmp, args.hosts, args.tasks)
            cmd = [str(BIN / "ansible-playbook"), str(play), "-i", str(inv),
                   "--forks", str(args.forks)]
            envmap = envs("local")
            for env in envmap.values():  # warm: migrations, caches (not measured)
                measure([str(BIN / "hib"), "db", "upgrade"], env, mem_interval=0)
            res = run_workload("local", cmd, envmap, args.repeats, args.hosts, servers)
            report(f"local ({args.tasks} debug tasks/host)", args.hosts, res, args.repeats)
        if "devices" in workloads:
            with lab(args.hosts, "cisco_ios") as the_lab:
                cmd = [str(BIN / "ansible-playbook"), "playbooks/backup.yml", "-i",
                       str(the_lab.inventory), "--forks", str(args.forks)]
                envmap = envs("devices")
                first = measure(cmd, envmap["off"], server_pids=[the_lab.pid])
                print(f"  devices: store filled in {first.wall_s:.1f} s (rc {first.rc})")
                for env in envmap.values():
                    measure([str(BIN / "hib"), "db", "upgrade"], env, mem_interval=0)
                res = run_workload("devices", cmd, envmap, args.repeats, args.hosts, servers)
            report("devices (playbooks/backup.yml, lab, no change)", args.hosts, res,
                   args.repeats)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nreproduce: cd {ROOT} && .venv/bin/python bench/recorder.py --hosts {args.hosts} "
          f"--repeats {args.repeats}")


if __name__ == "__main__":
    main()
