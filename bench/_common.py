"""Shared helpers for the benchmarks: measuring a command's process tree, labs, PostgreSQL, tables.

What is measured for a command (:func:`measure`):

* wall time;
* CPU (user + system) of the command's whole process tree, from ``wait4()`` (taken by a small
  wrapper process that spawns the command, see ``_WRAPPER``): the kernel adds
  each descendant's usage to its parent when the parent reaps it, so the figure covers every
  process the command started and waited for (Ansible's forks, the recorder's writer, ssh,
  expect) and nothing else (not the lab daemon, which `hib lab up` detached);
* peak RSS: the largest single process of the tree (``ru_maxrss`` from the wrapper's
  ``wait4``, so the bench process's own size never leaks into it; floor ~10 MB), and the
  largest sampled *sum* of PSS over the live tree (``/proc/PID/smaps_rollup``; PSS splits pages
  shared by forks, so the sum is what the tree really costs), sampled 0.1 s after the start,
  then at doubling intervals up to ``mem_interval`` s (a sample can miss a short peak);
* optionally the CPU a separate server process (the lab daemon, an S3 stand-in, PostgreSQL's
  postmaster tree) spent meanwhile, from ``/proc/PID/stat`` (and its children).
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    """One measured command."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    tree_pss_mb: float = 0.0
    server_cpu_s: float = 0.0
    rc: int = 0
    stdout: str = ""
    stderr: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it."""
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_pss_mb(pid: int) -> float:
    """Sum of PSS over ``pid``'s live process tree, in MB."""
    total_kb = 0
    for p in descendants(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
                    break
        except OSError:
            continue
    return total_kb / 1024


def proc_cpu_s(pid: int, tree: bool = False) -> float:
    """utime+stime of ``pid`` (plus its reaped children's; plus its live tree when ``tree``)."""
    total = 0.0
    for p in descendants(pid) if tree else [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is state (field 3); utime/stime/cutime/cstime are fields 14-17.
        total += sum(int(x) for x in fields[11:15]) / CLK_TCK
    return total


_WRAPPER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, ru = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as fh:
    json.dump({"cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss}, fh)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def measure(
    cmd: Sequence[str],
    env: dict[str, str],
    cwd: Path = ROOT,
    *,
    server_pids: Sequence[int] = (),
    mem_interval: float = 1.0,
    capture: bool = False,
    stdin: str | None = None,
    quiet_rc: Sequence[int] = (0,),
) -> Sample:
    """Run ``cmd`` to completion and measure its process tree (see the module docstring)."""
    server0 = sum(proc_cpu_s(p, tree=True) for p in server_pids)
    usage_file = Path(tempfile.mkstemp(prefix="hib-bench-usage-")[1])
    t0 = time.perf_counter()
    # Through _WRAPPER: a child's ru_maxrss starts at its spawner's RSS (vfork + exec keep the
    # old address space's high-water mark), so a small wrapper spawns the command and reports
    # the command's own wait4() usage; the bench process may be big by then.
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, str(usage_file), *cmd], env=env, cwd=cwd, text=True,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak_pss = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_pss
        # Short commands get samples too: 0.1 s, 0.2 s, 0.4 s, ... up to mem_interval apart.
        pause = min(0.1, mem_interval)
        while not stop.wait(pause):
            peak_pss = max(peak_pss, tree_pss_mb(proc.pid))
            pause = min(pause * 2, mem_interval)

    sampler = threading.Thread(target=sample, daemon=True)
    if mem_interval > 0:
        sampler.start()
    # communicate() reads the pipes; the final reap is ours (wait4) so the tree's rusage is kept.
    out_chunks: list[str] = []
    err_chunks: list[str] = []

    def drain(stream: object, sink: list[str]) -> None:
        sink.append(stream.read())  # type: ignore[attr-defined]

    readers = []
    for stream, sink in ((proc.stdout, out_chunks), (proc.stderr, err_chunks)):
        if stream is not None:
            t = threading.Thread(target=drain, args=(stream, sink), daemon=True)
            t.start()
            readers.append(t)
    if stdin is not None and proc.stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    _pid, status, _usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        usage = json.loads(usage_file.read_text())
    except ValueError:  # the wrapper died before writing: count nothing rather than guess
        usage = {"cpu_s": 0.0, "maxrss_kb": 0}
    usage_file.unlink(missing_ok=True)
    stop.set()
    for t in readers:
        t.join()
    if mem_interval > 0:
        sampler.join()
    server1 = sum(proc_cpu_s(p, tree=True) for p in server_pids)
    stderr = "".join(err_chunks)
    if proc.returncode not in quiet_rc:
        print(f"  ! {' '.join(str(c) for c in cmd[:4])}... exited {proc.returncode}: "
              f"{stderr[-600:]}", file=sys.stderr)
    return Sample(
        wall_s=wall,
        cpu_s=usage["cpu_s"],
        peak_rss_mb=usage["maxrss_kb"] / 1024,
        tree_pss_mb=peak_pss,
        server_cpu_s=server1 - server0,
        rc=proc.returncode,
        stdout="".join(out_chunks),
        stderr=stderr,
    )


def med(samples: Sequence[Sample], attr: str) -> float:
    """Median of one attribute (``extra`` keys allowed)."""
    return statistics.median(_values(samples, attr))


def spread(samples: Sequence[Sample], attr: str) -> float:
    """max - min of one attribute."""
    values = _values(samples, attr)
    return max(values) - min(values)


def _values(samples: Sequence[Sample], attr: str) -> list[float]:
    return [s.extra[attr] if attr in s.extra else float(getattr(s, attr)) for s in samples]


def fmt_wall(samples: Sequence[Sample], attr: str = "wall_s") -> str:
    """``12.3 s (±0.4)``: median and half the spread."""
    if not samples:
        return "-"
    return f"{med(samples, attr):.2f} s (±{spread(samples, attr) / 2:.2f})"


_CLEANUP: list[Path] = []


@atexit.register
def _cleanup() -> None:
    for path in _CLEANUP:
        shutil.rmtree(path, ignore_errors=True)


def scratch(prefix: str) -> Path:
    """A temporary directory removed when the bench exits (also after an error)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    _CLEANUP.append(path)
    return path


def bench_env(home: Path | None = None, *, bin_dir: Path = BIN, **extra: str) -> dict[str, str]:
    """The environment for one measured command: a private HIB_HOME, a venv's bin first on PATH.

    ``bin_dir`` is the bench's own venv unless another one is benchmarked (``hib run`` finds
    ``ansible-playbook`` on PATH, so PATH must name the same venv as the command).
    """
    if home is None:
        home = scratch("hib-bench-")
    env = {**os.environ, "HIB_HOME": str(home),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("VIRTUAL_ENV", None)
    for key in ("HIB_DB_URL", "HIB_CONFIG_STORE", "HIB_IMAGE_STORE", "HIB_RUN_ID"):
        env.pop(key, None)
    env.update(extra)
    return env


@dataclass
class Lab:
    """A running `hib lab`."""

    env: dict[str, str]
    inventory: Path
    pid: int
    up_s: float


@contextmanager
def lab(devices: int, platforms: str | None = None) -> Iterator[Lab]:
    """A lab in a throwaway HIB_HOME; always stopped (and its home removed) at the end."""
    home = Path(tempfile.mkdtemp(prefix="hib-bench-lab-"))
    env = bench_env(home)
    cmd = [str(BIN / "hib"), "lab", "up", "--devices", str(devices)]
    if platforms:
        cmd += ["--platforms", platforms]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        up_s = time.perf_counter() - t0
        inventory = Path(out.stdout.strip().splitlines()[-1])
        status = json.loads(subprocess.run(
            [str(BIN / "hib"), "lab", "status", "--json"], env=env, cwd=ROOT,
            capture_output=True, text=True, check=True).stdout)
        pid = int(status["pid"])
        print(f"lab: {devices} devices up in {up_s:.1f} s (pid {pid})", flush=True)
        yield Lab(env, inventory, pid, up_s)
    finally:
        subprocess.run([str(BIN / "hib"), "lab", "down"], env=env, cwd=ROOT, check=False,
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster."""

    url: str
    pid: int


@contextmanager
def postgres() -> Iterator[Postgres | None]:
    """A throwaway PostgreSQL cluster (default durability settings: fsync on), or None.

    Uses the newest /usr/lib/postgresql/*/bin; initdb refuses root, so as root the cluster runs
    as the ``postgres`` user (created if missing), like .ci/with-postgres.sh.
    """
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: float(p.parent.name))
    if not bins:
        yield None
        return
    pgbin = bins[-1]
    tmp = Path(tempfile.mkdtemp(prefix="hib-bench-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        if subprocess.run(["id", "-u", "postgres"], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        shutil.chown(tmp, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = tmp / "data"
    try:
        subprocess.run([*run_as, str(pgbin / "initdb"), "-D", str(data), "-U", "hib",
                        "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)
        subprocess.run([*run_as, str(pgbin / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"),
                        "-w", "-o", f"-k {tmp} -p {port} -c listen_addresses=127.0.0.1 "
                        "-c max_connections=200", "start"], check=True, capture_output=True)
        subprocess.run([*run_as, str(pgbin / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                        "-U", "hib", "hib_bench"], check=True, capture_output=True)
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield Postgres(f"postgresql+psycopg://hib@127.0.0.1:{port}/hib_bench", pid)
    finally:
        subprocess.run([*run_as, str(pgbin / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def stop_process(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """SIGTERM ``proc``, then SIGKILL after 10 s; always reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def machine() -> str:
    """One line: cores, CPU model, RAM, load, Python."""
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores, {model}, {mem_kb / 1024 / 1024:.1f} GiB RAM, "
            f"load {load}, Python {platform.python_version()}")


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A plain aligned text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


def banner(what: str) -> None:
    """What runs, where and when (first lines of every bench's output)."""
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"{what}\nmachine: {machine()}\nstarted: {started}", flush=True)
