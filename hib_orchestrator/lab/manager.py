"""Start, stop and query the lab: the library behind ``hib lab``.

``up`` is idempotent: a running lab with the same spec (devices, platforms, seed) is kept;
a different spec stops it and starts a fresh one (mutations and faults start from zero).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.extras import require_extra
from hib_orchestrator.lab import control
from hib_orchestrator.lab.inventory import add_image_hosts, write_inventory
from hib_orchestrator.lab.rancid import write_cloginrc
from hib_orchestrator.lab.render import planted_secrets
from hib_orchestrator.lab.state import (
    FAULT_KINDS,
    LabPaths,
    LabSpec,
    devices,
)
from hib_orchestrator.settings import Settings
from hib_orchestrator.standins import fleet as standins

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class UpResult:
    """Outcome of :func:`up`."""

    inventory: Path
    started: bool
    pid: int
    port: int


def paths_for(settings: Settings) -> LabPaths:
    """The lab files of these settings."""
    return LabPaths(settings.lab_dir)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _meta(paths: LabPaths) -> dict[str, Any] | None:
    try:
        return dict(json.loads(paths.spec.read_text()))
    except (OSError, ValueError):
        return None


def running(paths: LabPaths) -> dict[str, Any] | None:
    """The running lab's metadata (spec, port, pid), or None when no daemon answers."""
    meta = _meta(paths)
    if not meta or not meta.get("pid") or not _alive(int(meta["pid"])):
        return None
    try:
        reply = control.request(paths.control, {"op": "ping"}, timeout=5.0)
    except ConfigError:
        return None
    return meta if reply.get("pid") == meta["pid"] else None


@contextlib.contextmanager
def _locked(paths: LabPaths) -> Iterator[None]:
    # Two `hib lab up` at once (parallel test sessions, a user and a fixture) must not start
    # two daemons for one lab directory.
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.root / "lab.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def up(settings: Settings, spec: LabSpec, *, providers: bool = False) -> UpResult:
    """Start the lab for ``spec`` unless the same one already runs; write its inventory.

    With ``providers`` the image-host stand-ins (S3/OSS/COS, GitHub, SM.MS, Imgur, a folder)
    start too; once started they keep running until :func:`down`, and their hosts stay in the
    inventory's ``image_hosts`` group across later ``up`` calls.
    """
    spec.validate()
    # Checked here, before anything starts: the lab and stand-in processes would only die with
    # a traceback in their logs.
    require_extra("hib lab up", "lab", "asyncssh")
    if providers:
        require_extra("hib lab up --providers", "lab", "moto", "werkzeug", "flask", "boto3")
    paths = paths_for(settings)
    with _locked(paths):
        result = _up(paths, spec)
        if providers:
            try:
                standins.start(_standins_dir(paths), seed=spec.seed)
            except RuntimeError as err:
                raise ConfigError(f"provider stand-ins did not start: {err}") from err
        hosts = standins.inventory_hosts(_standins_dir(paths)) if _standins_up(paths) else {}
        if hosts:
            add_image_hosts(paths.inventory, hosts)
        return result


def _standins_dir(paths: LabPaths) -> Path:
    return paths.root / "providers"


def _standins_up(paths: LabPaths) -> bool:
    return bool(standins.status(_standins_dir(paths)))


def _up(paths: LabPaths, spec: LabSpec) -> UpResult:
    meta = running(paths)
    if meta is not None and LabSpec.from_json(meta["spec"]) == spec:
        write_inventory(paths.inventory, devices(spec), int(meta["port"]))
        return UpResult(paths.inventory, False, int(meta["pid"]), int(meta["port"]))
    _down(paths)
    old = _meta(paths)
    if not old or LabSpec.from_json(old["spec"]) != spec:
        paths.state.unlink(missing_ok=True)  # a new lab starts clean
    paths.spec.write_text(json.dumps({"spec": spec.to_json(), "port": None, "pid": None}))
    with open(paths.log, "ab") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hib_orchestrator.lab.daemon", str(paths.root)],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
            start_new_session=True, close_fds=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        meta = running(paths)
        if meta is not None:
            write_inventory(paths.inventory, devices(spec), int(meta["port"]))
            return UpResult(paths.inventory, True, int(meta["pid"]), int(meta["port"]))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    tail = paths.log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no log)"]
    raise ConfigError(f"the lab did not start: {tail[0]} (log: {paths.log})")


def down(settings: Settings) -> bool:
    """Stop the lab; True when one was running. Leaves no process behind."""
    paths = paths_for(settings)
    if not paths.root.is_dir():
        return False
    with _locked(paths):
        providers = standins.stop(_standins_dir(paths)) if _standins_dir(paths).is_dir() else False
        return _down(paths) or providers


def _down(paths: LabPaths) -> bool:
    meta = _meta(paths)
    pid = int(meta["pid"]) if meta and meta.get("pid") else None
    if pid is None or not _alive(pid):
        paths.pid.unlink(missing_ok=True)
        return False
    try:
        control.request(paths.control, {"op": "stop"}, timeout=5.0)
    except ConfigError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    paths.pid.unlink(missing_ok=True)
    return True


def _require(paths: LabPaths) -> dict[str, Any]:
    meta = running(paths)
    if meta is None:
        raise control.LabNotRunning("no lab is running (start one with `hib lab up`)")
    return meta


def inventory_path(settings: Settings) -> Path:
    """Path of the running lab's inventory."""
    paths = paths_for(settings)
    _require(paths)
    return paths.inventory


def status(settings: Settings) -> dict[str, Any]:
    """``{running, inventory, devices: [{host, platform, address, fault}], providers}``."""
    paths = paths_for(settings)
    meta = running(paths)
    if meta is None:
        return {"running": False, "inventory": None, "devices": [], "providers": []}
    spec = LabSpec.from_json(meta["spec"])
    faults = control.request(paths.control, {"op": "status"})["faults"]
    return {
        "running": True,
        "inventory": str(paths.inventory),
        "pid": meta["pid"],
        "port": meta["port"],
        "devices": [
            {"host": d.host, "platform": d.platform, "address": d.address,
             "fault": faults.get(d.host, "none")}
            for d in devices(spec)
        ],
        "providers": standins.status(_standins_dir(paths)),
    }


def set_fault(settings: Settings, host: str, kind: str) -> None:
    """Set fault ``kind`` on device ``host`` (``none`` clears)."""
    paths = paths_for(settings)
    if kind not in FAULT_KINDS:
        raise ConfigError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
    spec = LabSpec.from_json(_require(paths)["spec"])
    if host not in {d.host for d in devices(spec)}:
        raise ConfigError(f"no lab device called {host!r} (see `hib lab status`)")
    control.request(paths.control, {"op": "fault", "host": host, "kind": kind})


def mutate(settings: Settings, count: int) -> list[str]:
    """Change the significant configuration of ``count`` devices; their names."""
    paths = paths_for(settings)
    _require(paths)
    return list(control.request(paths.control, {"op": "mutate", "count": count})["hosts"])


def cloginrc(settings: Settings, directory: Path | None = None) -> Path:
    """Write RANCID login files for the running lab (default ``lab_dir/rancid``)."""
    paths = paths_for(settings)
    meta = _require(paths)
    spec = LabSpec.from_json(meta["spec"])
    return write_cloginrc(devices(spec), int(meta["port"]), directory or paths.root / "rancid")


def secrets(settings: Settings) -> list[str]:
    """Every secret planted in the lab's device configs plus the inventory credentials."""
    paths = paths_for(settings)
    meta = _meta(paths)
    if meta is None:
        raise control.LabNotRunning("no lab has been set up (start one with `hib lab up`)")
    spec = LabSpec.from_json(meta["spec"])
    out: list[str] = []
    for dev in devices(spec):
        out += dev.credentials() + planted_secrets(spec, dev)
    return out + standins.secrets(_standins_dir(paths))
