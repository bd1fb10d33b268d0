"""Fetch raw command output from one device with netmiko, bounded in time, retried with backoff.

Every attempt runs under a watchdog: whatever netmiko does (a device that accepts TCP and then
says nothing, a prompt that never comes), the attempt ends ``timeout`` (+ a small margin) seconds
after it started, with :class:`~hib_orchestrator.errors.DeviceTimeout`. Transient failures
(timeouts, unreachable, no prompt, truncation) are retried ``retries`` times with exponential
backoff and jitter; authentication failures and rejected commands are not.
"""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paramiko
from netmiko import ConnectHandler
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)

from hib_orchestrator.devices.profiles import Profile
from hib_orchestrator.errors import (
    AuthFailed,
    DeviceError,
    DeviceTimeout,
    HibError,
    PromptNotDetected,
    TruncatedOutput,
    Unreachable,
)
from hib_orchestrator.logs import get_logger

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
WATCHDOG_MARGIN = 2.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
POLL_S = 0.02
RETRYABLE: tuple[type[DeviceError], ...] = (
    DeviceTimeout,
    Unreachable,
    PromptNotDetected,
    TruncatedOutput,
)


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach one device (from inventory). ``repr`` never shows secrets."""

    host: str
    address: str
    port: int = 22
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    key_file: str | None = None
    enable_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Time bounds and retry policy of one device's fetch."""

    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff_base: float = BACKOFF_BASE
    backoff_cap: float = BACKOFF_CAP


_log = get_logger(__name__)


def backoff_delay(attempt: int, policy: FetchPolicy, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): ``base * 2**(n-1)``, capped, then a
    random 50-100 % of it (jitter spreads retries of many devices that failed together)."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * (2 ** (attempt - 1)))
    return (rng or random).uniform(ceiling / 2, ceiling)


def map_error(err: BaseException, host: str) -> DeviceError:
    """Turn a netmiko/paramiko/socket exception into our error with a stable code."""
    text = " ".join(str(err).split())
    if isinstance(err, DeviceError):
        return err
    if isinstance(err, NetmikoAuthenticationException | paramiko.AuthenticationException):
        return AuthFailed("authentication failed (login rejected)", host=host)
    if isinstance(err, NetmikoTimeoutException):
        cause = err.__context__
        if text.startswith(("TCP connection to device failed", "DNS failure")):
            reason = type(cause).__name__ if cause else "no connection"
            return Unreachable(f"cannot open TCP connection ({reason})", host=host)
        return DeviceTimeout("SSH session did not start in time (no banner or no session)",
                             host=host)
    if isinstance(err, ReadTimeout):
        return DeviceTimeout(f"no answer in time ({_short(text)})", host=host)
    if isinstance(err, ValueError) and "enable mode" in text:
        return AuthFailed("enable mode refused (check hib_enable_secret)", host=host)
    if isinstance(err, ValueError) and "prompt" in text.lower():
        return PromptNotDetected(f"no device prompt recognised ({_short(text)})", host=host)
    if isinstance(err, ConnectionRefusedError | socket.gaierror):
        return Unreachable(f"cannot open TCP connection ({type(err).__name__})", host=host)
    if isinstance(err, socket.timeout | TimeoutError):
        return DeviceTimeout("no answer in time", host=host)
    if isinstance(err, ReadException | EOFError | OSError | paramiko.SSHException):
        # The session died mid-output: what we have is incomplete.
        return TruncatedOutput(f"session closed before the output ended ({_short(text)})",
                               host=host)
    return PromptNotDetected(f"unexpected session failure: {type(err).__name__}: {_short(text)}",
                             host=host)


def _short(text: str, limit: int = 100) -> str:
    first = text.split(". ")[0]
    return first if len(first) <= limit else first[: limit - 3] + "..."


def _connect_args(profile: Profile, conn: Connection, timeout: float) -> dict[str, Any]:
    args: dict[str, Any] = {
        "device_type": profile.netmiko_device_type,
        "host": conn.address,
        "port": conn.port,
        "username": conn.username or "",
        "password": conn.password or "",
        "secret": conn.enable_secret or "",
        "conn_timeout": min(timeout, 10.0),
        "auth_timeout": timeout,
        "banner_timeout": timeout,
        "timeout": timeout,
        "session_timeout": timeout,
        "read_timeout_override": timeout,
        "allow_agent": False,
        "ssh_config_file": None,
        "fast_cli": True,
    }
    if conn.key_file:
        args.update(use_keys=True, key_file=conn.key_file)
    return args


def _attempt(profile: Profile, conn: Connection, timeout: float, holder: dict[str, Any]
             ) -> list[tuple[str, str]]:
    device = ConnectHandler(**_connect_args(profile, conn, timeout))
    holder["device"] = device
    try:
        if profile.enable:
            device.enable()
        outputs = []
        for command in profile.commands:
            outputs.append((command, _send(device, command, timeout, conn.host)))
        return outputs
    finally:
        # netmiko's disconnect() first sends the platform's exit/quit dance (2.2 s of sleeps on
        # huawei); a read-only session is simply closed.
        device.paramiko_cleanup()


PROMPT_TAIL = 4096


def _send(device: Any, command: str, timeout: float, host: str) -> str:
    """Send ``command`` and read until the prompt comes back (raw: echo and prompt included).

    Unlike netmiko's ``send_command`` this notices a session closed mid-output at once (that is
    truncation, not a timeout) and never waits past ``timeout``.
    """
    prompt = str(device.find_prompt()).strip()
    at_end = re.compile(re.escape(prompt) + r"\s*$")
    device.write_channel(device.normalize_cmd(command))
    output = ""
    deadline = time.monotonic() + timeout

    def echoed_from() -> int:
        # A stray prompt (netmiko's find_prompt may send a second RETURN) can arrive before the
        # echo; it must not pass for the end of the output, so the answer starts at the echo.
        pos = output.find(command)
        return -1 if pos < 0 else output.rfind("\n", 0, pos) + 1

    def complete(start: int) -> bool:
        # The prompt after the echo line; only the tail can hold it (a whole-output search per
        # chunk made long configs quadratic).
        echo_end = output.find("\n", start)
        if echo_end < 0:
            return False
        return bool(at_end.search(output, max(echo_end + 1, len(output) - PROMPT_TAIL)))

    while True:
        chunk = device.read_channel()
        if chunk:
            output += chunk
            start = echoed_from()
            if start >= 0 and complete(start):
                return output[start:]
            continue
        channel = device.remote_conn
        transport = channel.get_transport() if channel is not None else None
        if channel is None or channel.closed or channel.eof_received or not (
            transport and transport.is_active()
        ):
            if channel is not None and channel.recv_ready():
                continue  # drain what arrived before the close first
            raise TruncatedOutput(
                f"session closed after {len(output)} characters of {command!r}", host=host
            )
        if time.monotonic() >= deadline:
            raise DeviceTimeout(f"{command!r} did not finish within {timeout:g}s", host=host)
        time.sleep(POLL_S)


def fetch_once(profile: Profile, conn: Connection, timeout: float) -> list[tuple[str, str]]:
    """One bounded attempt: ``[(command, raw output)]`` or a :class:`DeviceError`.

    Raises:
        DeviceError: mapped failure; :class:`DeviceTimeout` when the watchdog fires.
    """
    holder: dict[str, Any] = {}
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["outputs"] = _attempt(profile, conn, timeout, holder)
        except BaseException as err:  # handed to the caller's thread
            done["error"] = err

    thread = threading.Thread(target=run, name=f"fetch-{conn.host}", daemon=True)
    thread.start()
    thread.join(timeout + WATCHDOG_MARGIN)
    if thread.is_alive():
        _abort(holder)
        raise DeviceTimeout(f"no complete answer within {timeout:g}s", host=conn.host)
    if "error" in done:
        raise map_error(done["error"], conn.host) from done["error"]
    return list(done["outputs"])


def _abort(holder: dict[str, Any]) -> None:
    # Closing the transport makes the stuck netmiko read fail fast in its (daemon) thread.
    device = holder.get("device")
    pre = getattr(device, "remote_conn_pre", None)
    transport = pre.get_transport() if pre is not None else None
    if transport is not None:
        transport.close()


def fetch_with_retries(
    profile: Profile,
    conn: Connection,
    policy: FetchPolicy,
    *,
    validate: Callable[[list[tuple[str, str]]], Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Any, int]:
    """Fetch (and ``validate``) with retries; returns ``(value, attempts)``.

    ``validate`` turns raw outputs into the caller's value and may raise a :class:`DeviceError`
    (truncation is retried like a network error). The last error is raised with ``attempts`` set.
    """
    attempts = 0
    while True:
        attempts += 1
        try:
            outputs = fetch_once(profile, conn, policy.timeout)
            return (validate(outputs) if validate else outputs), attempts
        except HibError as err:
            err.attempts = attempts  # type: ignore[attr-defined]
            if not isinstance(err, RETRYABLE) or attempts > policy.retries:
                raise
            delay = backoff_delay(attempts, policy)
            _log.info("attempt %d failed [%s]: %s; retrying in %.1fs", attempts, err.code,
                      err.message, delay)
        sleep(delay)
