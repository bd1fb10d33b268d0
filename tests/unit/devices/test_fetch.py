"""Fetch bounds and error mapping against real sockets (no device needed)."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator

import pytest

from hib_orchestrator.devices.fetch import (
    Connection,
    FetchPolicy,
    backoff_delay,
    fetch_once,
    fetch_with_retries,
    map_error,
)
from hib_orchestrator.devices.profiles import registry
from hib_orchestrator.errors import AuthFailed, DeviceTimeout, ErrorCode, Unreachable


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word (a hung device)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_silent_device_ends_with_timeout(silent_server: int) -> None:
    conn = Connection("hung", "127.0.0.1", silent_server, "u", "p")
    with pytest.raises(DeviceTimeout) as info:
        fetch_once(registry().get("cisco_ios"), conn, timeout=1.0)
    assert info.value.code == ErrorCode.TIMEOUT and info.value.host == "hung"


def test_a_refused_port_is_unreachable() -> None:
    conn = Connection("gone", "127.0.0.1", _closed_port(), "u", "p")
    with pytest.raises(Unreachable) as info:
        fetch_once(registry().get("cisco_ios"), conn, timeout=2.0)
    assert info.value.code == ErrorCode.UNREACHABLE


def test_transient_failures_are_retried_with_backoff(silent_server: int) -> None:
    waits: list[float] = []
    conn = Connection("hung", "127.0.0.1", silent_server, "u", "p")
    policy = FetchPolicy(timeout=0.5, retries=2, backoff_base=1.0, backoff_cap=8.0)
    with pytest.raises(DeviceTimeout) as info:
        fetch_with_retries(registry().get("cisco_ios"), conn, policy, sleep=waits.append)
    assert info.value.attempts == 3  # type: ignore[attr-defined]
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = FetchPolicy(backoff_base=1.0, backoff_cap=5.0)
    rng = random.Random(7)
    delays = [backoff_delay(n, policy, rng) for n in range(1, 7)]
    assert all(d <= 5.0 for d in delays)
    assert 2.0 <= delays[2] <= 4.0
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered


def test_netmiko_errors_map_to_stable_codes() -> None:
    from netmiko.exceptions import NetmikoAuthenticationException, ReadTimeout

    assert isinstance(map_error(NetmikoAuthenticationException("x"), "h"), AuthFailed)
    assert map_error(ReadTimeout("Pattern not detected"), "h").code == ErrorCode.TIMEOUT
    enable = ValueError("Failed to enter enable mode. Please ensure you pass the 'secret'")
    assert map_error(enable, "h").code == ErrorCode.AUTH_FAILED
    assert map_error(ValueError("Router prompt not found: ''"), "h").code == (
        ErrorCode.PROMPT_NOT_DETECTED)
    assert map_error(EOFError(), "h").code == ErrorCode.TRUNCATED_OUTPUT
