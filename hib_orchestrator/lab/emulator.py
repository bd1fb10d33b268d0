"""A vendor CLI as a line-in, text-out state machine (no I/O here).

The SSH server feeds complete input lines to :meth:`CliSession.handle` and writes back the
:class:`Reply`. Output uses CRLF line ends like a pty, and the server echoes input lines
(except while a password is being typed), which is what netmiko's ``cmd_verify`` reads for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hib_orchestrator.lab.platforms import Platform
from hib_orchestrator.lab.state import Device

CRLF = "\r\n"


@dataclass(frozen=True, slots=True)
class Reply:
    """What the device answers to one line.

    Attributes:
        body: output lines' text, already CRLF-terminated ("" for none).
        prompt: the prompt printed after the body ("" when the session ends).
        close: end the session after writing.
        config: the body is a configuration document (the ``truncate`` fault cuts these).
        paged: the body is shown a page at a time behind the platform's "more" prompt.
    """

    body: str
    prompt: str
    close: bool = False
    config: bool = False
    paged: bool = False


def match_command(line: str, known: tuple[str, ...] | list[str], abbreviations: bool) -> str | None:
    """The known command ``line`` stands for: exact, or word-wise prefixes (``sh run``)."""
    text = " ".join(line.split())
    if text in known:
        return text
    if not abbreviations:
        return None
    words = text.split(" ")
    for cand in known:
        cwords = cand.split(" ")
        if len(cwords) == len(words) and all(c.startswith(w) for w, c in zip(words, cwords,
                                                                             strict=True)):
            return cand
    return None


class CliSession:
    """One interactive login on one device."""

    def __init__(self, plat: Platform, dev: Device, fetch: Callable[[str], str]) -> None:
        self.plat = plat
        self.dev = dev
        self._fetch = fetch
        self.mode = "enable" if plat.starts_enabled else "user"
        self.awaiting_password = False
        self.paging = plat.pager is not None

    @property
    def echo(self) -> bool:
        """Whether the next input line is echoed (not while typing a password)."""
        return not self.awaiting_password

    def prompt(self) -> str:
        """The current prompt."""
        plat = self.plat
        template = {"user": plat.user_prompt, "enable": plat.enable_prompt or plat.user_prompt,
                    "config": plat.config_prompt}[self.mode]
        return template.format(host=self.dev.host, user=self.dev.username)

    def greeting(self) -> str:
        """Banner and first prompt."""
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
        return self.plat.banner.format(host=self.dev.host, now=now) + self.prompt()

    def _reply(self, lines: list[str] | str = "", **kw: bool) -> Reply:
        body = lines if isinstance(lines, str) else (CRLF.join(lines) + CRLF if lines else "")
        return Reply(body, self.prompt(), **kw)

    def handle(self, line: str) -> Reply:
        """Answer one input line (without its line end)."""
        if self.awaiting_password:
            self.awaiting_password = False
            if line == self.dev.enable_secret:
                self.mode = "enable"
                return self._reply()
            return self._reply(["% Access denied", ""])
        text = " ".join(line.split())
        if not text:
            return self._reply(list(self.plat.config_context) if self.mode == "config" else [])
        if self.mode == "config":
            return self._config_line(text)
        return self._exec_line(text)

    def _exec_line(self, text: str) -> Reply:
        plat = self.plat
        abbrev = plat.abbreviations
        if match_command(text, plat.exit_commands, abbrev):
            return Reply("logout" + CRLF if plat.name == "linux" else "", "", close=True)
        if plat.enable_command and match_command(text, (plat.enable_command,), abbrev):
            if self.mode == "enable":
                return self._reply()
            self.awaiting_password = True
            return Reply("", "Password: ")
        if plat.enable_command and match_command(text, ("disable",), abbrev):
            self.mode = "user"
            return self._reply()
        quiet = match_command(text, list(plat.quiet_commands), abbrev)
        if quiet is not None:
            out = plat.quiet_commands[quiet]
            if quiet in plat.pager_off:
                self.paging = False
            return self._reply([out] if out else [])
        if plat.config_enter and self._may_configure() and match_command(
            text, plat.config_enter, abbrev
        ):
            self.mode = "config"
            return self._reply(self._config_banner())
        doc = match_command(text, list(plat.config_commands), abbrev)
        if doc is not None and (self.mode == "enable" or not plat.needs_enable):
            body = self._fetch(plat.config_commands[doc])
            lines = body.split("\n") + list(plat.trailer)
            return self._reply(lines, config=True, paged=self.paging)
        shown = match_command(text, list(plat.show_commands), abbrev)
        if shown is not None:
            return self._reply(plat.show_commands[shown].format(host=self.dev.host).split("\n"))
        return self._reply(self._reject(text))

    def _may_configure(self) -> bool:
        return self.mode == "enable" or not self.plat.needs_enable

    def _config_banner(self) -> list[str]:
        if self.plat.name == "juniper_junos":
            return ["Entering configuration mode", *self.plat.config_context]
        if self.plat.name.startswith("cisco") or self.plat.name == "arista_eos":
            return ["Enter configuration commands, one per line.  End with CNTL/Z."]
        return []

    def _config_line(self, text: str) -> Reply:
        if match_command(text, self.plat.config_leave, self.plat.abbreviations):
            self.mode = "enable"
            return self._reply()
        # Configuration changes are accepted and forgotten: the lab's configs change by `mutate`.
        return self._reply(list(self.plat.config_context))

    def _reject(self, text: str) -> list[str]:
        caret = " " * len(self.prompt()) + "^"
        return [ln.format(cmd=text.split(" ")[0], caret=caret) for ln in self.plat.reject]
