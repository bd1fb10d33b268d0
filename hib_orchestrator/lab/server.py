"""asyncssh glue: one SSH listener per device, password/keyboard-interactive auth, the CLI session,
and the transport-level faults (``auth``, ``hang``, ``refuse``, ``truncate``, ``slow``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncssh

from hib_orchestrator.lab.emulator import CRLF, CliSession
from hib_orchestrator.lab.platforms import PLATFORMS
from hib_orchestrator.lab.render import render
from hib_orchestrator.lab.state import Device, DeviceState, LabSpec

PAGE_LINES = 24
log = logging.getLogger("hib.lab.server")


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


class DeviceServer(asyncssh.SSHServer):
    """SSH server side of one device connection."""

    def __init__(self, fleet: Fleet, dev: Device) -> None:
        self.fleet = fleet
        self.dev = dev
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def _check(self, username: str, password: str) -> bool:
        if self.fleet.fault(self.dev.host) == "auth":
            return False
        return username == self.dev.username and password == self.dev.password

    def validate_password(self, username: str, password: str) -> bool:
        return self._check(username, password)

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str,
                             submethods: str) -> tuple[str, str, str, list[tuple[str, bool]]]:
        return "", "", "", [("Password: ", False)]

    def validate_kbdint_response(self, username: str, responses: Any) -> bool:
        return len(responses) == 1 and self._check(username, responses[0])

    def session_requested(self) -> asyncssh.SSHServerSession[str]:
        assert self.conn is not None
        self.fleet.sessions += 1
        return CliChannel(self.fleet, self.dev, self.conn)


class CliChannel(asyncssh.SSHServerSession[str]):
    """The shell (or exec) channel: echo, line splitting, faults, and the emulator."""

    def __init__(self, fleet: Fleet, dev: Device, conn: asyncssh.SSHServerConnection) -> None:
        self.fleet = fleet
        self.dev = dev
        self.conn = conn
        self.cli = CliSession(PLATFORMS[dev.platform], dev, lambda doc: fleet.fetch(dev, doc))
        self.chan: asyncssh.SSHServerChannel[str] | None = None
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.buf = ""
        self.skip_lf = False
        self.keys: asyncio.Queue[str | None] = asyncio.Queue()
        self.more_waiting = False
        self.exec_command: str | None = None
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, chan: asyncssh.SSHServerChannel[str]) -> None:  # type: ignore[override]
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.exec_command = command
        return True

    def session_started(self) -> None:
        if self.exec_command is not None:
            self.lines.put_nowait(self.exec_command)
            self.lines.put_nowait(None)
        self.task = asyncio.get_running_loop().create_task(self._guarded())

    def data_received(self, data: str, datatype: Any) -> None:
        for ch in data:
            if self.more_waiting:
                # At a "more" prompt a single key answers it (space, enter, q), no line needed.
                self.more_waiting = False
                self.keys.put_nowait(ch)
                self.skip_lf = ch == "\r"
                continue
            if ch == "\n" and self.skip_lf:
                self.skip_lf = False
                continue
            self.skip_lf = ch == "\r"
            if ch in "\r\n":
                self.lines.put_nowait(self.buf)
                self.buf = ""
            elif ch in "\x08\x7f":
                self.buf = self.buf[:-1]
            else:
                self.buf += ch

    def eof_received(self) -> bool:
        self.lines.put_nowait(None)
        self.keys.put_nowait(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.task is not None:
            self.task.cancel()

    def _write(self, text: str) -> None:
        assert self.chan is not None
        if text and not self.chan.is_closing():
            self.chan.write(text)

    async def _guarded(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A lab bug must show up in lab.log and drop only this session, not the daemon.
            log.exception("session on %s failed", self.dev.host)
            self.conn.abort()

    async def _run(self) -> None:
        interactive = self.exec_command is None
        if interactive:
            self._write(self.cli.greeting())
        while True:
            line = await self.lines.get()
            if line is None:
                break
            # Echo, output and prompt go out in one write (one SSH packet where they fit).
            echo = (line if self.cli.echo else "") + CRLF if interactive else ""
            if line.strip() and self.fleet.fault(self.dev.host) == "slow":
                self._write(echo)
                echo = ""
                await asyncio.sleep(random.uniform(2.0, 5.0))
            reply = self.cli.handle(line)
            if reply.config and self.fleet.fault(self.dev.host) == "truncate":
                self._write(echo + reply.body[: len(reply.body) // 2])
                await asyncio.sleep(0.05)
                self.conn.close()
                return
            prompt = reply.prompt if interactive else ""
            if reply.paged and interactive:
                self._write(echo)
                await self._write_paged(reply.body)
                self._write(prompt)
            else:
                self._write(echo + reply.body + prompt)
            if reply.close:
                break
        assert self.chan is not None
        self.chan.exit(0)

    async def _write_paged(self, body: str, page: int = PAGE_LINES) -> None:
        more = self.cli.plat.pager or ""
        lines = body.split(CRLF)
        for start in range(0, len(lines), page):
            chunk = lines[start:start + page]
            last = start + page >= len(lines)
            self._write(CRLF.join(chunk) + ("" if last else CRLF))
            if last:
                return
            self.more_waiting = True
            self._write(more)
            key = await self.keys.get()
            self._write("\r" + " " * len(more) + "\r")
            if key is None or key in "qQ":
                self._write(CRLF)
                return
