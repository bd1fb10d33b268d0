"""Fleet benchmark: how close does an Ansible-driven backup get to the raw netmiko floor?

Measures, against one `hib lab` per fleet size and in the same run (machines here are shared
and noisy; medians of ``--repeats`` runs and their spread are printed):

  (a) raw netmiko in a ThreadPoolExecutor, as its own process (the floor; ``--workers``, best
      kept),
  (b) ``ansible-playbook playbooks/backup.yml`` as shipped: Ansible's builtin linear strategy,
      one hib.orchestrator.device_batch task per play batch (sessions in HIB_SESSION_PROCESSES
      session processes forked from the batch worker, default = CPUs), then device_result for
      failed devices; ``--forks``, best kept,
  (c) ``hib run`` (the same playbook through ansible-runner, with the best forks of b),
  (d) RANCID ``clogin`` under ``xargs -P`` (``--clogin-parallel``), when rancid is installed,
  (e) Ansible's ``linear`` with the same action code per host: bench/playbooks/per_host.yml
      (hib.orchestrator.device_config on every host, one forked worker per device),
  (f) the opt-in hib.orchestrator.fleet strategy on that per-host playbook
      (ANSIBLE_STRATEGY=hib.orchestrator.fleet; on an ansible-core whose internals it lacks it
      runs as linear, and the notes under the table say so),
  (g) nornir's threaded runner + nornir_netmiko with the floor's best thread count, when both
      are installed (the ``bench`` extra); otherwise the row prints "skipped: ...".

(e) and (f) use the best forks of (b) unless ``--per-host-forks`` lists others to try.
The Ansible paths (b, c, e, f) run once per ``--venv`` (default: the venv running this script),
each with that venv's ansible-playbook / hib and its own state directory, and their rows are
labelled with its Python and ansible-core versions. In each state directory a first run ("b0",
every device new, one commit of N files) is measured but never a ratio; the measured runs are
then the nightly case: volatile lines moved, nothing significant changed, no commit.

Controller CPU is the benchmarked command's whole process tree (ansible-playbook with its
forks and session processes, the recorder's writer, ssh/expect for clogin); the lab daemon is
another process and is reported separately ("lab CPU"). Every ratio is against (a) of the same
fleet size. A warning on stderr that a third-party strategy is deprecated, or that the fleet
strategy fell back to linear, is listed under the table of its fleet size.

With several ``--devices`` sizes (one lab each, started and stopped in turn) the run ends with
the scale curve: a table of wall, CPU ms/device and peak memory per path and size, and a PNG of
wall and CPU/device against fleet size (``--plot``, default docs/img/fleet-scale.png;
``--no-plot`` skips it; needs matplotlib from the ``bench`` extra).

Usage (from the repository root, after ``.venv/bin/pip install -e '.[bench]'``):

    .venv/bin/python bench/fleet.py --devices 1000 --repeats 3
    .venv/bin/python bench/fleet.py --devices 100,500,1000,2000 --repeats 3 \\
        --venv .venv --venv .venv-py313 --plot docs/img/fleet-scale.png
    .venv/bin/python bench/fleet.py --devices 30,60 --repeats 1 --workers 50 --forks 50 \\
        --plot /tmp/fleet-scale.png               # a quick check that every row runs
    .venv/bin/python bench/fleet.py --devices 100 --skip d,f,g --session-processes 0

On a shared machine run one benchmark at a time (``flock /tmp/hib-bench.lock ...``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

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
from _fleet_plot import Series, plot_scale
from _peers import (
    CLOGIN,
    PEERS,
    clogin_script,
    clogin_setup,
    devices,
    nornir_missing,
)

PLAYBOOK = "playbooks/backup.yml"
PER_HOST = "bench/playbooks/per_host.yml"
FLEET_STRATEGY = "hib.orchestrator.fleet"
ANSIBLE_KEYS = ("b0", "b", "c", "e", "f")
ORDER = ("a", "b0", "b", "c", "d", "e", "f", "g")
LABELS = {
    "a": "netmiko thread pool (floor)",
    "b0": "ansible-playbook backup.yml, first run",
    "b": "ansible-playbook backup.yml (device_batch, linear)",
    "c": "hib run (device_batch, linear)",
    "d": "RANCID clogin",
    "e": "per-host playbook, linear",
    "f": "per-host playbook, fleet strategy",
    "g": "nornir + nornir_netmiko",
}
# Ansible's words, whitespace collapsed (it wraps warnings to the terminal width).
WARNINGS = {
    "strategy plugins not included in ansible.builtin are deprecated":
        "ansible-core's deprecation warning for a third-party strategy",
    "running as linear": "the fleet strategy fell back to linear",
}


@dataclass(frozen=True)
class Stack:
    """One virtualenv whose ansible-playbook and hib run the Ansible paths."""

    venv: Path
    python: str
    ansible: str

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def label(self) -> str:
        return f"py{self.python}/core {self.ansible}"


def probe_stack(venv: str) -> Stack:
    """The Python and ansible-core versions of ``venv``; exit 2 when it cannot run the paths."""
    path = Path(venv).absolute()
    missing = [b for b in ("python", "ansible-playbook", "hib") if not (path / "bin" / b).exists()]
    if missing:
        print(f"fleet.py: --venv {venv}: no {', '.join('bin/' + m for m in missing)} "
              f"(create it with make setup or .ci/setup.sh)", file=sys.stderr)
        sys.exit(2)
    out = subprocess.run(
        [str(path / "bin" / "python"), "-c",
         "import platform, ansible.release, hib_orchestrator as h; "
         "print(platform.python_version(), ansible.release.__version__, h.__file__)"],
        capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"fleet.py: --venv {venv}: cannot import ansible and hib_orchestrator: "
              f"{out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        sys.exit(2)
    python, ansible, hib_file = out.stdout.split()
    if not Path(hib_file).resolve().is_relative_to(ROOT):
        print(f"  note: {venv} imports hib_orchestrator from {hib_file}, not this checkout")
    return Stack(path, python, ansible)


@dataclass
class Fleet:
    """The measurements of one fleet size: every configuration tried, the best of each."""

    lab: Lab
    repeats: int
    session_processes: str | None = None
    results: dict[tuple[str, str], tuple[str, list[Sample]]] = field(default_factory=dict)
    tried: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.inv = str(self.lab.inventory)
        self.hosts = devices(self.lab.inventory)
        self.n = len(self.hosts)

    def keep(self, key: str, stack: str, label: str, samples: list[Sample]) -> None:
        """Record a configuration; keep it as ``key``'s best when its median wall is lowest."""
        self.tried.append([key, stack or "-", label, f"{med(samples, 'wall_s'):.2f} s",
                           f"{spread(samples, 'wall_s'):.2f}"])
        best = self.results.get((key, stack))
        if best is None or med(samples, "wall_s") < med(best[1], "wall_s"):
            self.results[(key, stack)] = (label, samples)

    def run(self, key: str, stack: str, label: str, cmd: list[str],
            env: dict[str, str]) -> list[Sample]:
        """``repeats`` measured runs of one command, printed as they end."""
        samples = []
        for i in range(self.repeats):
            s = measure(cmd, env, server_pids=[self.lab.pid])
            samples.append(s)
            where = f" [{stack}]" if stack else ""
            print(f"  {key}{where} {label} #{i + 1}: {s.wall_s:.2f} s wall, {s.cpu_s:.2f} s CPU, "
                  f"rc {s.rc}", flush=True)
        self.check_warnings(key, stack, samples)
        return samples

    def trial(self, key: str, stack: str, label: str, cmd: list[str],
              env: dict[str, str]) -> None:
        self.keep(key, stack, label, self.run(key, stack, label, cmd, env))

    def check_warnings(self, key: str, stack: str, samples: list[Sample]) -> None:
        text = " ".join(" ".join(s.stderr.split()) for s in samples)
        for needle, what in WARNINGS.items():
            note = f"{key} [{stack}]: {what}"
            if needle in text and note not in self.notes:
                self.notes.append(note)

    def floor(self, workers: list[int]) -> None:
        """(a) the netmiko thread pool, as its own process."""
        for w in workers:
            self.trial("a", "", f"{w} workers",
                       [sys.executable, str(PEERS), "floor", self.inv, str(w)], bench_env())

    def ansible_env(self, stack: Stack, home: Path, **extra: str) -> dict[str, str]:
        env = bench_env(home, bin_dir=stack.bin, **extra)
        if "ANSIBLE_STRATEGY" not in extra:
            env.pop("ANSIBLE_STRATEGY", None)  # as shipped: the playbook's own (linear)
        env.pop("HIB_SESSION_PROCESSES", None)
        if self.session_processes is not None:
            env["HIB_SESSION_PROCESSES"] = self.session_processes
        return env

    def ansible(self, stack: Stack, forks: list[int], per_host_forks: list[int],
                skip: set[str]) -> None:
        """b0 (first run, all new), (b) per forks, (c), (e), (f): one warm store per venv."""
        home = scratch("hib-bench-fleet-")
        env = self.ansible_env(stack, home)
        label = stack.label
        playbook = [str(stack.bin / "ansible-playbook"), PLAYBOOK, "-i", self.inv]
        first = measure([*playbook, "--forks", str(max(forks))], env, server_pids=[self.lab.pid])
        print(f"  b0 [{label}] first run (all new, one commit of {self.n} files), forks "
              f"{max(forks)}: {first.wall_s:.2f} s wall, {first.cpu_s:.2f} s CPU, rc {first.rc}",
              flush=True)
        self.check_warnings("b0", label, [first])
        self.results[("b0", label)] = (f"forks {max(forks)}, 1 run", [first])
        if "b" not in skip:
            for f in forks:
                self.trial("b", label, f"forks {f}", [*playbook, "--forks", str(f)], env)
        fbest = self.best_forks("b", label, forks)
        if "c" not in skip:
            self.trial("c", label, f"forks {fbest}",
                       [str(stack.bin / "hib"), "run", "-i", self.inv, "--json", "--forks", fbest],
                       env)
        per_host = [str(stack.bin / "ansible-playbook"), PER_HOST, "-i", self.inv]
        for key, strategy in (("e", "linear"), ("f", FLEET_STRATEGY)):
            if key in skip:
                continue
            strat_env = self.ansible_env(stack, home, ANSIBLE_STRATEGY=strategy)
            for f in per_host_forks or [int(fbest)]:
                self.trial(key, label, f"forks {f}", [*per_host, "--forks", str(f)], strat_env)
        shutil.rmtree(home, ignore_errors=True)

    def best_forks(self, key: str, stack: str, forks: list[int]) -> str:
        """The forks of ``key``'s best configuration (the largest tried if it did not run)."""
        best = self.results.get((key, stack))
        return best[0].split()[-1] if best else str(max(forks))

    def rancid(self, parallel: list[int]) -> None:
        """(d) clogin under xargs -P; each device's output file is checked afterwards."""
        if not Path(CLOGIN).exists():
            print(f"  d: skipped: {CLOGIN} not installed (apt-get install rancid)")
            return
        tmp = scratch("hib-bench-clogin-")
        rc, addrs = clogin_setup(self.hosts, tmp)
        out = tmp / "out"
        for p in parallel:
            samples = []
            for i in range(self.repeats):
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                s = measure(["bash", "-c", clogin_script(rc, out, p)],
                            {**os.environ, "HOME": str(tmp)}, server_pids=[self.lab.pid],
                            stdin=addrs, quiet_rc=(0, 123))
                good = sum(1 for f in out.iterdir()
                           if f.read_text(errors="replace").count("\n") > 100)
                s.extra["ok"] = good
                if good < self.n:
                    s.rc = s.rc or 1
                    print(f"  ! clogin: only {good}/{self.n} configs fetched", file=sys.stderr)
                samples.append(s)
                print(f"  d xargs -P {p} #{i + 1}: {s.wall_s:.2f} s wall, {s.cpu_s:.2f} s CPU, "
                      f"{good}/{self.n} ok", flush=True)
            self.keep("d", "", f"xargs -P {p}", samples)
        shutil.rmtree(tmp, ignore_errors=True)

    def nornir(self, threads: int) -> None:
        """(g) nornir + nornir_netmiko, threaded runner with ``threads`` workers."""
        why = nornir_missing()
        if why:
            print(f"  g: skipped: {why}")
            return
        self.trial("g", "", f"{threads} workers",
                   [sys.executable, str(PEERS), "nornir", self.inv, str(threads)], bench_env())

    def floor_wall(self) -> float | None:
        best = self.results.get(("a", ""))
        return med(best[1], "wall_s") if best else None

    def rows(self) -> list[tuple[str, str, str, list[Sample]]]:
        """``(key, stack, best configuration, samples)`` in table order."""
        stacks = list(dict.fromkeys(s for (_k, s) in self.results if s))  # --venv order
        out = []
        for key in ORDER:
            for stack in stacks if key in ANSIBLE_KEYS else [""]:
                if (key, stack) in self.results:
                    label, samples = self.results[(key, stack)]
                    out.append((key, stack, label, samples))
        return out

    def report(self, platforms: str) -> None:
        """Every configuration tried, then the best of each with its ratio to the floor."""
        print_table(f"{self.n} devices: every configuration tried (median wall, spread)",
                    ["", "venv", "configuration", "wall", "spread"], self.tried)
        floor = self.floor_wall()
        rows = []
        for key, stack, label, samples in self.rows():
            wall = med(samples, "wall_s")
            ok = sum(1 for s in samples if s.rc == 0)
            rows.append([
                key, LABELS[key], stack or "-", label, f"{wall:.2f} s",
                f"{spread(samples, 'wall_s'):.2f}",
                f"{wall / floor:.2f}x" if floor and key != "b0" else "-",
                f"{med(samples, 'cpu_s') * 1000 / self.n:.1f}",
                f"{med(samples, 'server_cpu_s') * 1000 / self.n:.1f}",
                f"{med(samples, 'peak_rss_mb'):.0f}", f"{med(samples, 'tree_pss_mb'):.0f}",
                f"{ok}/{len(samples)}",
            ])
        print_table(f"fleet: {self.n} devices ({platforms}), best configuration of each, "
                    f"median of {self.repeats} (b0: one run)",
                    ["", "what", "venv", "best", "wall", "spread", "vs floor", "ctl CPU ms/dev",
                     "lab CPU ms/dev", "max RSS MB", "tree PSS MB", "rc 0"], rows)
        for note in self.notes:
            print(f"  note: {note}")
        for key, stack, _label, samples in self.rows():
            if any(s.rc != 0 for s in samples):
                where = f" [{stack}]" if stack else ""
                print(f"  ! {key}{where}: a measured run failed; its figures are not a result")


def scale_table(fleets: list[Fleet]) -> list[Series]:
    """Per path and fleet size: wall, ratio, CPU/device, memory; returns the plot's lines."""
    first = fleets[0]
    stacks = list(dict.fromkeys(s for (_k, s) in first.results if s))
    series: list[Series] = []
    rows = []
    for key, stack, _label, _samples in first.rows():
        if key == "b0":
            continue
        base = first.results[(key, stack)][1]
        line = Series(f"{key} {LABELS[key]}" + (f" ({stack})" if stack else ""), key,
                      stacks.index(stack) if stack else 0, [])
        series.append(line)
        for f in fleets:
            if (key, stack) not in f.results:
                continue
            best, samples = f.results[(key, stack)]
            wall, cpu_ms = med(samples, "wall_s"), med(samples, "cpu_s") * 1000 / f.n
            rss, pss = med(samples, "peak_rss_mb"), med(samples, "tree_pss_mb")
            floor = f.floor_wall()
            line.points.append((f.n, wall, cpu_ms))
            rows.append([key, LABELS[key], stack or "-", f"{f.n}", best, f"{wall:.2f} s",
                         f"{spread(samples, 'wall_s'):.2f}",
                         f"{wall / floor:.2f}x" if floor else "-", f"{cpu_ms:.1f}",
                         f"{rss:.0f}", f"{rss / max(med(base, 'peak_rss_mb'), 1):.2f}x",
                         f"{pss:.0f}", f"{pss / max(med(base, 'tree_pss_mb'), 1):.2f}x"])
    print_table("scale curve: per path and fleet size (controller side; lab excluded)",
                ["", "what", "venv", "devices", "best", "wall", "spread", "vs floor",
                 "ctl CPU ms/dev", "max RSS MB", "vs smallest", "tree PSS MB", "vs smallest"],
                rows)
    return series


def ints(text: str) -> list[int]:
    """``"20,50"`` -> ``[20, 50]``."""
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a comma list of positive integers, not {text!r}")
    return values


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--devices", type=ints, default=[1000],
                    help="fleet sizes, a comma list (100,500,1000,2000: the scale curve)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--platforms", default="cisco_ios",
                    help="lab platforms (cisco_ios keeps RANCID comparable)")
    ap.add_argument("--workers", type=ints, default=[20, 50, 100],
                    help="floor thread-pool sizes to try (nornir uses the best)")
    ap.add_argument("--forks", type=ints, default=[50, 100],
                    help="ansible-playbook forks to try for (b); (c) uses the best")
    ap.add_argument("--per-host-forks", type=ints, default=None,
                    help="forks to try for (e) and (f) (default: the best of b)")
    ap.add_argument("--clogin-parallel", type=ints, default=[50], help="xargs -P values to try")
    ap.add_argument("--venv", action="append", default=None, metavar="PATH",
                    help="a virtualenv whose ansible-playbook/hib run b, c, e, f (repeatable; "
                         "default: the one running this script)")
    ap.add_argument("--session-processes", default=None, metavar="N",
                    help="HIB_SESSION_PROCESSES for the Ansible paths (default: unset, = CPUs)")
    ap.add_argument("--skip", default="", help="comma list of a,b,c,d,e,f,g to leave out")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs/img/fleet-scale.png",
                    help="where the scale curve's PNG goes (default docs/img/fleet-scale.png)")
    ap.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    args = ap.parse_args()
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = args.skip - set("abcdefg")
    if unknown:
        ap.error(f"--skip: unknown rows {','.join(sorted(unknown))} (use a,b,c,d,e,f,g)")
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    if args.session_processes is not None and not args.session_processes.isdigit():
        ap.error("--session-processes must be a non-negative integer")
    return args


def main() -> None:
    """Run the fleet benchmark and print its tables (and the scale curve's plot)."""
    args = parse_args()
    stacks = [probe_stack(v) for v in args.venv or [str(BIN.parent)]]
    labels = [s.label for s in stacks]
    if len(set(labels)) < len(labels):
        # Rows are told apart by their versions; two venvs with the same ones would collide.
        print(f"fleet.py: --venv: two virtualenvs with the same Python and ansible-core "
              f"({', '.join(labels)}); give each stack once", file=sys.stderr)
        sys.exit(2)
    banner(f"fleet benchmark: {','.join(map(str, args.devices))} devices ({args.platforms}), "
           f"{args.repeats} repeats; Ansible paths on "
           + "; ".join(f"{s.venv} ({s.label})" for s in stacks))
    fleets = []
    for size in args.devices:
        with lab(size, args.platforms) as the_lab:
            fleet = Fleet(the_lab, args.repeats, args.session_processes)
            if "a" not in args.skip:
                fleet.floor(args.workers)
            if not {"b", "c", "e", "f"} <= args.skip:
                for stack in stacks:
                    fleet.ansible(stack, args.forks, args.per_host_forks or [], args.skip)
            if "d" not in args.skip:
                fleet.rancid(args.clogin_parallel)
            if "g" not in args.skip:
                best = fleet.results.get(("a", ""))
                fleet.nornir(int(best[0].split()[0]) if best else max(args.workers))
        fleet.report(args.platforms)
        fleets.append(fleet)
    series = scale_table(fleets)
    if not args.no_plot and series:
        title = (f"bench/fleet.py, {os.cpu_count()} cores, median of {args.repeats}, "
                 f"{time.strftime('%Y-%m-%d', time.gmtime())}")
        why = plot_scale(series, args.plot, title)
        print(f"\nplot: skipped: {why}" if why else f"\nplot: {args.plot}")
    venvs = "".join(f" --venv {s.venv}" for s in stacks)
    print(f"\nreproduce: cd {ROOT} && .venv/bin/python bench/fleet.py "
          f"--devices {','.join(map(str, args.devices))} --repeats {args.repeats} "
          f"--workers {','.join(map(str, args.workers))} --forks {','.join(map(str, args.forks))} "
          f"--clogin-parallel {','.join(map(str, args.clogin_parallel))}{venvs}"
          + (f" --per-host-forks {','.join(map(str, args.per_host_forks))}"
             if args.per_host_forks else "")
          + (f" --session-processes {args.session_processes}"
             if args.session_processes is not None else "")
          + (f" --skip {','.join(sorted(args.skip))}" if args.skip else ""))


if __name__ == "__main__":
    main()
