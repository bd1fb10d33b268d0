"""The lab daemon: one asyncio loop serving every device, plus a control socket.

Started detached by ``hib lab up`` as ``python -m hib_orchestrator.lab.daemon LAB_DIR``.
It reads the spec from ``LAB_DIR/lab.json``, picks one free port for all device addresses,
records it (with its pid) back into ``lab.json``, then answers JSON-lines requests on the
control socket (see :mod:`hib_orchestrator.lab.control`) until ``stop`` or SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import resource
import signal
import sys
from pathlib import Path
from typing import Any

import asyncssh

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.lab.fleet import Fleet
from hib_orchestrator.lab.state import FAULT_KINDS, DeviceState, LabPaths, LabSpec, devices

log = logging.getLogger("hib.lab.daemon")
PORT_RANGE = (20000, 32000)  # below the usual ephemeral range (32768-60999)


def raise_nofile_limit() -> int:
    """Raise the open-files soft limit to the hard limit (one socket per device + sessions)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def load_host_key(paths: LabPaths) -> asyncssh.SSHKey:
    """The lab's ed25519 host key, created on first use (mode 600)."""
    if paths.host_key.exists():
        return asyncssh.read_private_key(str(paths.host_key))
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(paths.host_key))
    os.chmod(paths.host_key, 0o600)
    return key


class Daemon:
    """Owns the fleet and the control socket."""

    def __init__(self, paths: LabPaths) -> None:
        self.paths = paths
        meta = json.loads(paths.spec.read_text())
        self.spec = LabSpec.from_json(meta["spec"])
        self.meta = meta
        self.devices = devices(self.spec)
        self.state = DeviceState.load(paths.state)
        self.stopping = asyncio.Event()
        self.fleet: Fleet | None = None

    def save_state(self) -> None:
        """Persist mutations and faults."""
        self.state.save(self.paths.state)

    async def start(self) -> None:
        """Open every device on one free port, then the control socket."""
        key = load_host_key(self.paths)
        rng = random.Random()
        last_err: OSError | None = None
        for _ in range(20):
            port = int(self.meta.get("port") or rng.randrange(*PORT_RANGE))
            self.meta["port"] = None
            fleet = Fleet(self.spec, self.devices, self.state, key, port, self.save_state)
            try:
                await fleet.open_all()
            except OSError as err:
                last_err = err
                await fleet.close_all()
                continue
            self.fleet = fleet
            break
        else:
            raise RuntimeError(f"no free port for the lab devices: {last_err}")
        self.meta.update(port=self.fleet.port, pid=os.getpid())
        tmp = self.paths.spec.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.meta, indent=1))
        os.replace(tmp, self.paths.spec)
        self.control = await asyncio.start_unix_server(self._client, path=self.paths.control)
        self.paths.pid.write_text(f"{os.getpid()}\n")
        log.warning("lab up: %d devices on port %d", len(self.devices), self.fleet.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    reply = await self.handle(json.loads(line))
                except (ConfigError, KeyError, ValueError, TypeError) as err:
                    reply = {"ok": False, "error": str(err)}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
                if self.stopping.is_set():
                    break
        except (asyncio.CancelledError, ConnectionError):
            pass  # the daemon is stopping or the client went away: nothing left to answer
        finally:
            writer.close()

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        """Answer one control request."""
        assert self.fleet is not None
        op = req.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "lab_dir": str(self.paths.root),
                    "sessions": self.fleet.sessions}
        if op == "status":
            return {"ok": True, "faults": dict(self.state.faults),
                    "mutations": dict(self.state.mutations), "port": self.fleet.port}
        if op == "fault":
            host, kind = str(req["host"]), str(req["kind"])
            if host not in self.fleet.devices or kind not in FAULT_KINDS:
                raise ConfigError(f"unknown host or fault: {host} {kind}")
            await self.fleet.apply_fault(host, kind)
            return {"ok": True}
        if op == "mutate":
            return {"ok": True, "hosts": self.mutate(int(req["count"]))}
        if op == "stop":
            self.stopping.set()
            return {"ok": True}
        raise ConfigError(f"unknown control op {op!r}")

    def mutate(self, count: int) -> list[str]:
        """Pick ``count`` devices (deterministic per round) and bump their mutation counters."""
        hosts = [d.host for d in self.devices]
        if not 1 <= count <= len(hosts):
            raise ConfigError(f"--devices must be between 1 and {len(hosts)}, not {count}")
        self.state.mutate_rounds += 1
        rng = random.Random(f"{self.spec.seed}|mutate|{self.state.mutate_rounds}")
        chosen = sorted(rng.sample(hosts, count), key=hosts.index)
        for host in chosen:
            self.state.mutations[host] = self.state.mutations.get(host, 0) + 1
        self.save_state()
        return chosen

    async def run(self) -> None:
        """Serve until asked to stop."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        await self.start()
        await self.stopping.wait()
        self.control.close()
        assert self.fleet is not None
        await self.fleet.close_all()
        for path in (self.paths.pid,):
            path.unlink(missing_ok=True)
        if not self.paths.control.startswith("\0"):
            Path(self.paths.control).unlink(missing_ok=True)
        log.warning("lab down")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the daemon process."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.ERROR)
    raise_nofile_limit()
    paths = LabPaths(Path(args[0]))
    asyncio.run(Daemon(paths).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
