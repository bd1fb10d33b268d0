"""Every device of a running lab: state, fetch counters and listeners, in the daemon's loop.

Listener-level faults live here: ``refuse`` closes the device's listening socket (TCP RST),
``hang`` swaps it for a socket that accepts and never speaks; ``none`` restores SSH.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncssh

from hib_orchestrator.lab.render import render
from hib_orchestrator.lab.server import DeviceServer
from hib_orchestrator.lab.state import Device, DeviceState, LabSpec


class Fleet:
    """Runtime of every device: state, fetch counters, listeners. Lives in the daemon's loop."""

    def __init__(self, spec: LabSpec, devices: list[Device], state: DeviceState,
                 host_key: asyncssh.SSHKey, port: int, save: Callable[[], None]) -> None:
        self.spec = spec
        self.devices = {d.host: d for d in devices}
        self.state = state
        self.host_key = host_key
        self.port = port
        self._save = save
        self._fetches: dict[str, int] = {}
        self._last_ts: dict[str, datetime] = {}
        self._listeners: dict[str, asyncssh.SSHAcceptor] = {}
        self._hang_servers: dict[str, tuple[asyncio.AbstractServer, list[asyncio.Transport]]] = {}
        self.sessions = 0

    # -- configuration documents ------------------------------------------------------------
    def fetch(self, dev: Device, doc: str) -> str:
        """Render ``doc`` for ``dev`` now; volatile values move forward on every fetch."""
        n = self._fetches.get(dev.host, 0) + 1
        self._fetches[dev.host] = n
        now = datetime.now(UTC).replace(microsecond=0)
        last = self._last_ts.get(dev.host)
        if last is not None and now <= last:
            # Timestamps have whole seconds; keep them strictly increasing per device.
            now = last + timedelta(seconds=1)
        self._last_ts[dev.host] = now
        return render(self.spec, dev, doc, self.state.mutations.get(dev.host, 0), now, n)

    def fault(self, host: str) -> str:
        """Current fault kind of ``host`` (``none`` when healthy)."""
        return self.state.faults.get(host, "none")

    # -- listeners --------------------------------------------------------------------------
    async def open_all(self) -> None:
        """Listen for every device (concurrently: 1000 devices start in about a second)."""
        await asyncio.gather(*(self._open(d) for d in self.devices.values()))
        for host, kind in list(self.state.faults.items()):
            await self.apply_fault(host, kind)

    async def _open(self, dev: Device) -> None:
        self._listeners[dev.host] = await asyncssh.listen(
            host=dev.address,
            port=self.port,
            server_factory=lambda: DeviceServer(self, dev),
            server_host_keys=[self.host_key],
            line_editor=False,
            reuse_address=True,
            backlog=256,
            login_timeout=30,
            keepalive_interval=0,
        )

    async def close_all(self) -> None:
        """Stop listening everywhere (existing sessions are closed with the loop)."""
        for acceptor in self._listeners.values():
            acceptor.close()
        for server, transports in self._hang_servers.values():
            server.close()
            for tr in transports:
                tr.abort()
        self._listeners.clear()
        self._hang_servers.clear()

    async def apply_fault(self, host: str, kind: str) -> None:
        """Set ``kind`` on ``host``, reshaping its listener for ``hang``/``refuse``."""
        dev = self.devices[host]
        if kind == "none":
            self.state.faults.pop(host, None)
        else:
            self.state.faults[host] = kind
        self._save()
        hang = self._hang_servers.pop(host, None)
        if hang:
            hang[0].close()
            for tr in hang[1]:
                tr.abort()
        want_ssh = kind not in ("hang", "refuse")
        acceptor = self._listeners.get(host)
        if not want_ssh and acceptor is not None:
            acceptor.close()
            await acceptor.wait_closed()
            del self._listeners[host]
        if kind == "hang":
            held: list[asyncio.Transport] = []
            server = await asyncio.get_running_loop().create_server(
                lambda: _Silent(held), dev.address, self.port, reuse_address=True
            )
            self._hang_servers[host] = (server, held)
        if want_ssh and host not in self._listeners:
            await self._open(dev)


class _Silent(asyncio.Protocol):
    """Accept the TCP connection and never say a word (the ``hang`` fault)."""

    def __init__(self, held: list[asyncio.Transport]) -> None:
        self._held = held

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._held.append(transport)  # type: ignore[arg-type]
