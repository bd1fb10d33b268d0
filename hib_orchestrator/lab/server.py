"""asyncssh glue for one device connection: password/keyboard-interactive auth, the shell or
exec channel with echo, pagers and the in-session faults (``auth``, ``truncate``, ``slow``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any

import asyncssh

from hib_orchestrator.lab.emulator import CRLF, CliSession
from hib_orchestrator.lab.platforms import PLATFORMS
from hib_orchestrator.lab.state import Device

if TYPE_CHECKING:
    from hib_orchestrator.lab.fleet import Fleet

PAGE_LINES = 24
log = logging.getLogger("hib.lab.server")


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
