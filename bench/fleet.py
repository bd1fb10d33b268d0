"""Fleet benchmark: how close does an Ansible-driven backup get to the raw netmiko floor?

Measures, against one `hib lab` and in the same run (machines here are shared and noisy; medians
of ``--repeats`` runs and their spread are printed):

  (a) raw netmiko in a ThreadPoolExecutor, as its own process (the floor; 20/50/100 workers,
      best kept),
  (b) ansible-playbook playbooks/backup.yml as shipped: the repository's ansible.cfg selects the
      hib.orchestrator.fleet strategy (device task in controller threads, SSH sessions in a few
      long-lived session interpreters, no fork per device); forks 20/50/100, best kept,
  (c) hib run (same playbook through ansible-runner, fleet too, with the best forks of b),
  (d) RANCID clogin in parallel (xargs -P), when the Debian package is installed,
  (e) (b) with ANSIBLE_STRATEGY=linear: Ansible's one forked worker per device (forks
      20/50/100),
  (f) hib run --strategy linear (best forks of e).

(b), (c), (e) and (f) share one state directory that a first, unmeasured-for-ratio run fills
(every device new, one commit of N files; printed as "b0"); the measured runs are then the
nightly case: volatile lines moved, nothing significant changed, no commit.

Controller CPU is the benchmarked command's process tree (ansible-playbook with its forks or
session interpreters, the recorder's writer, ssh/expect for clogin); the lab daemon is another
process and is reported separately ("lab CPU").

Usage:  .venv/bin/python bench/fleet.py --devices 1000 [--repeats 3]
        .venv/bin/python bench/fleet.py --devices 100 --repeats 1 --workers 50 --forks 50
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BIN,
    ROOT,
    Lab,
    Sample,
    banner,
    bench_env,
    lab,
    measure,
    med,
    print_table,
    scratch,
    spread,
)

CLOGIN = shutil.which("clogin") or "/usr/lib/rancid/bin/clogin"
LINEAR = {"ANSIBLE_STRATEGY": "linear"}


def devices(inventory: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(name, vars)`` of every device in a lab inventory."""
    inv = yaml.safe_load(inventory.read_text())
    out: list[tuple[str, dict[str, Any]]] = []
    for group in inv["all"]["children"]["network"]["children"].values():
        out.extend((group.get("hosts") or {}).items())
    return out


def floor_main(inventory: Path, workers: int) -> None:
    """The floor, run as its own process: netmiko ConnectHandler per device in a thread pool."""
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

    hosts = devices(inventory)
    with ThreadPoolExecutor(workers) as pool:
        sizes = list(pool.map(fetch, hosts))
    short = sum(1 for s in sizes if s < 1000)
    if short:
        sys.exit(f"{short} devices returned a short config")


def clogin_setup(hosts: list[tuple[str, dict[str, Any]]]) -> tuple[Path, Path, str]:
    """A .cloginrc and ssh wrapper for the lab (see docs/lab.md); returns (dir, rc, addresses)."""
    tmp = scratch("hib-bench-clogin-")
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
    return tmp, rc, "\n".join(v["ansible_host"] for _n, v in hosts) + "\n"


def run_clogin(the_lab: Lab, setup: tuple[Path, Path, str], parallel: int, n: int) -> Sample:
    """``xargs -P`` over clogin; each device's output goes to a file, checked afterwards."""
    tmp, rc, addrs = setup
    out = tmp / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    script = (f"xargs -P {parallel} -I@ sh -c "
              f"'{CLOGIN} -f {rc} -c \"show running-config\" @ > {out}/@.txt 2>&1'")
    sample = measure(["bash", "-c", script], {**os.environ, "HOME": str(tmp)},
                     server_pids=[the_lab.pid], stdin=addrs, quiet_rc=(0, 123))
    good = sum(1 for f in out.iterdir() if f.read_text(errors="replace").count("\n") > 100)
    sample.extra["ok"] = good
    if good < n:
        print(f"  ! clogin: only {good}/{n} configs fetched", file=sys.stderr)
    return sample


LABELS = {"a": "netmiko threadpool (floor)", "b0": "ansible-playbook, first run",
          "b": "ansible-playbook backup.yml (fleet)", "c": "hib run (fleet)",
          "d": "RANCID clogin", "e": "ansible-playbook backup.yml, linear",
          "f": "hib run --strategy linear"}


class Fleet:
    """The measurements of one fleet benchmark: every configuration tried, the best of each."""

    def __init__(self, the_lab: Lab, repeats: int) -> None:
        self.lab = the_lab
        self.repeats = repeats
        self.inv = str(the_lab.inventory)
        self.hosts = devices(the_lab.inventory)
        self.n = len(self.hosts)
        self.results: dict[str, tuple[str, list[Sample]]] = {}
        self.tried: list[list[str]] = []

    def keep(self, key: str, label: str, samples: list[Sample]) -> None:
        """Record a configuration; keep it as ``key``'s best when its median wall is lowest."""
        self.tried.append([key, label, f"{med(samples, 'wall_s'):.2f} s",
                           f"{spread(samples, 'wall_s'):.2f}"])
        if key not in self.results or med(samples, "wall_s") < med(self.results[key][1], "wall_s"):
            self.results[key] = (label, samples)

    def trial(self, key: str, label: str, cmd: list[str], env: dict[str, str]) -> None:
        """``repeats`` measured runs of one command."""
        samples = []
        for i in range(self.repeats):
            s = measure(cmd, env, server_pids=[self.lab.pid])
            samples.append(s)
            print(f"  {key} {label} #{i + 1}: {s.wall_s:.2f} s wall, {s.cpu_s:.2f} s CPU, "
                  f"rc {s.rc}", flush=True)
        self.keep(key, label, samples)

    def floor(self, workers: list[int]) -> None:
        """(a) the netmiko thread pool, as its own process."""
        for w in workers:
            self.trial("a", f"{w} workers",
                       [sys.executable, str(Path(__file__).resolve()), "_floor", self.inv, str(w)],
                       bench_env())

    def ansible(self, forks: list[int], skip: set[str]) -> None:
        """b0 (first run, all new), (b) ansible-playbook per forks, (c) hib run; one warm store."""
        home = scratch("hib-bench-fleet-")
        env = bench_env(home)
        playbook = [str(BIN / "ansible-playbook"), "playbooks/backup.yml", "-i", self.inv]
        first = measure([*playbook, "--forks", str(max(forks))], env, server_pids=[self.lab.pid])
        print(f"  b0 first run (all new, one commit of {self.n} files), forks {max(forks)}: "
              f"{first.wall_s:.2f} s wall, {first.cpu_s:.2f} s CPU, rc {first.rc}", flush=True)
        self.results["b0"] = (f"forks {max(forks)}, 1 run", [first])
        if "b" not in skip:
            for f in forks:
                self.trial("b", f"forks {f}", [*playbook, "--forks", str(f)], env)
        hib_run = [str(BIN / "hib"), "run", "-i", self.inv, "--json"]
        if "c" not in skip:
            fbest = self.best_forks("b", forks)
            self.trial("c", f"forks {fbest}", [*hib_run, "--forks", fbest], env)
        if "e" not in skip:
            # Ansible's own linear strategy: one forked worker per device.
            for f in forks:
                self.trial("e", f"forks {f}", [*playbook, "--forks", str(f)], {**env, **LINEAR})
        if "f" not in skip:
            fbest = self.best_forks("e", forks)
            self.trial("f", f"forks {fbest}",
                       [*hib_run, "--forks", fbest, "--strategy", "linear"], env)
        shutil.rmtree(home, ignore_errors=True)

    def best_forks(self, key: str, forks: list[int]) -> str:
        """The forks of ``key``'s best configuration (the largest tried if it did not run)."""
        return self.results[key][0].split()[-1] if key in self.results else str(max(forks))

    def rancid(self, parallel: list[int]) -> None:
        """(d) clogin under xargs -P."""
        if not Path(CLOGIN).exists():
            print(f"  d: {CLOGIN} not installed (apt-get install rancid); row skipped")
            return
        setup = clogin_setup(self.hosts)
        for p in parallel:
            samples = []
            for i in range(self.repeats):
                s = run_clogin(self.lab, setup, p, self.n)
                samples.append(s)
                print(f"  d xargs -P {p} #{i + 1}: {s.wall_s:.2f} s wall, {s.cpu_s:.2f} s CPU, "
                      f"{int(s.extra['ok'])}/{self.n} ok", flush=True)
            self.keep("d", f"xargs -P {p}", samples)
        shutil.rmtree(setup[0], ignore_errors=True)

    def report(self, platforms: str) -> None:
        """Both tables."""
        print_table("every configuration tried (median wall, spread)",
                    ["", "configuration", "wall", "spread"], self.tried)
        floor = med(self.results["a"][1], "wall_s") if "a" in self.results else None
        rows = []
        for key in ("a", "b0", "b", "c", "d", "e", "f"):
            if key not in self.results:
                continue
            label, samples = self.results[key]
            wall = med(samples, "wall_s")
            rows.append([
                key, LABELS[key], label, f"{wall:.2f} s", f"{spread(samples, 'wall_s'):.2f}",
                f"{wall / floor:.2f}x" if floor else "-",
                f"{med(samples, 'cpu_s') * 1000 / self.n:.1f}",
                f"{med(samples, 'server_cpu_s') * 1000 / self.n:.1f}",
                f"{med(samples, 'peak_rss_mb'):.0f}", f"{med(samples, 'tree_pss_mb'):.0f}",
            ])
        print_table(f"fleet: {self.n} devices ({platforms}), best configuration of each, "
                    f"median of {self.repeats} (b0: one run)",
                    ["", "what", "best", "wall", "spread", "vs floor", "ctl CPU ms/dev",
                     "lab CPU ms/dev", "max RSS MB", "tree PSS MB"], rows)


def ints(text: str) -> list[int]:
    """``"20,50"`` -> ``[20, 50]``."""
    return [int(x) for x in text.split(",") if x]


def memory_table(fleets: list[Fleet]) -> None:
    """Peak memory of each benchmarked command per fleet size (the sub-linear target)."""
    rows = []
    first = fleets[0]
    for key in ("a", "b", "c", "d", "e", "f"):
        if key not in first.results:
            continue
        for f in fleets:
            if key not in f.results:
                continue
            samples = f.results[key][1]
            rss, pss = med(samples, "peak_rss_mb"), med(samples, "tree_pss_mb")
            base = first.results[key][1]
            rows.append([key, LABELS[key], f"{f.n}", f"{rss:.0f}",
                         f"{rss / med(base, 'peak_rss_mb'):.2f}x", f"{pss:.0f}",
                         f"{pss / max(med(base, 'tree_pss_mb'), 1):.2f}x",
                         f"{f.n / first.n:.0f}x"])
    print_table("memory by fleet size (controller side; lab excluded)",
                ["", "what", "devices", "max RSS MB", "vs smallest", "tree PSS MB", "vs smallest",
                 "devices vs smallest"], rows)


def main() -> None:
    """Run the fleet benchmark and print its tables."""
    if len(sys.argv) == 4 and sys.argv[1] == "_floor":
        floor_main(Path(sys.argv[2]), int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--devices", default="1000",
                    help="fleet size; a comma list (e.g. 100,1000) also compares memory")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--platforms", default="cisco_ios",
                    help="lab platforms (cisco_ios keeps RANCID comparable)")
    ap.add_argument("--workers", default="20,50,100", help="floor thread-pool sizes to try")
    ap.add_argument("--forks", default="20,50,100", help="ansible-playbook forks to try")
    ap.add_argument("--clogin-parallel", default="50", help="xargs -P values to try")
    ap.add_argument("--skip", default="", help="comma list of a,b,c,d,e,f to leave out")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    banner(f"fleet benchmark: {args.devices} devices ({args.platforms}), "
           f"{args.repeats} repeats")
    fleets = []
    for size in ints(args.devices):
        with lab(size, args.platforms) as the_lab:
            fleet = Fleet(the_lab, args.repeats)
            if "a" not in skip:
                fleet.floor(ints(args.workers))
            if not {"b", "c", "e", "f"} <= skip:
                fleet.ansible(ints(args.forks), skip)
            if "d" not in skip:
                fleet.rancid(ints(args.clogin_parallel))
        fleet.report(args.platforms)
        fleets.append(fleet)
    if len(fleets) > 1:
        memory_table(fleets)
    print(f"\nreproduce: cd {ROOT} && .venv/bin/python bench/fleet.py --devices {args.devices} "
          f"--repeats {args.repeats} --workers {args.workers} --forks {args.forks} "
          f"--clogin-parallel {args.clogin_parallel}")


if __name__ == "__main__":
    main()
