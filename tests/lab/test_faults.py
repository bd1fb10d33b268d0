"""Each fault behaves like the real failure as netmiko sees it, and ``none`` clears it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from netmiko import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout

from tests.lab.conftest import Lab, connect, fetch, hib


@pytest.fixture
def faulty(lab: Lab) -> Iterator[tuple[Lab, str, dict[str, object]]]:
    """ios-009 with whatever fault a test sets; cleared afterwards."""
    host = "ios-009"
    yield lab, host, lab.hosts()[host]
    hib(lab.home, "lab", "fault", host, "none")


def _fault(lab: Lab, host: str, kind: str) -> None:
    hib(lab.home, "lab", "fault", host, kind)
    if kind != "none":
        assert {d["host"]: d["fault"] for d in lab.status()["devices"]}[host] == kind


def test_auth_fault_rejects_password(faulty: tuple[Lab, str, dict[str, object]]) -> None:
    lab, host, hostvars = faulty
    _fault(lab, host, "auth")
    with pytest.raises(NetmikoAuthenticationException):
        connect(hostvars)
    _fault(lab, host, "none")
    assert "hostname ios-009" in fetch(hostvars)


def test_hang_fault_accepts_then_silence(faulty: tuple[Lab, str, dict[str, object]]) -> None:
    lab, host, hostvars = faulty
    _fault(lab, host, "hang")
    with socket.create_connection((hostvars["ansible_host"], hostvars["ansible_port"]), 5) as s:
        s.settimeout(1.5)
        with pytest.raises(TimeoutError):
            s.recv(100)  # TCP accepted, but no SSH banner
    with pytest.raises(NetmikoTimeoutException):
        connect(hostvars, conn_timeout=3, banner_timeout=2, auth_timeout=2)
    _fault(lab, host, "none")
    assert "hostname ios-009" in fetch(hostvars)


def test_refuse_fault_resets_tcp(faulty: tuple[Lab, str, dict[str, object]]) -> None:
    lab, host, hostvars = faulty
    _fault(lab, host, "refuse")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((hostvars["ansible_host"], hostvars["ansible_port"]), 5)
    with pytest.raises(NetmikoTimeoutException):
        connect(hostvars, conn_timeout=3)
    _fault(lab, host, "none")
    assert "hostname ios-009" in fetch(hostvars)


def test_truncate_fault_cuts_config_and_drops_session(
    faulty: tuple[Lab, str, dict[str, object]],
) -> None:
    lab, host, hostvars = faulty
    full = fetch(hostvars)
    _fault(lab, host, "truncate")
    conn = connect(hostvars)
    partial = conn.send_command_timing("show running-config", read_timeout=5, last_read=1.0)
    assert not conn.remote_conn.get_transport().is_active(), "session dropped"
    conn.disconnect()
    assert "Building configuration" in partial
    assert 100 < len(partial) < len(full) * 0.8
    assert not partial.rstrip().endswith("end")
    conn = connect(hostvars)
    with pytest.raises(ReadTimeout):
        conn.send_command("show running-config", read_timeout=2)
    conn.disconnect()
    _fault(lab, host, "none")
    assert fetch(hostvars).splitlines()[-1] == "end"


def test_slow_fault_delays_each_command(lab: Lab) -> None:
    # A linux device: netmiko sends it no session commands, so only the fetch is delayed.
    host = "linux-008"
    hostvars = lab.hosts()[host]
    _fault(lab, host, "slow")
    try:
        conn = connect(hostvars)
        try:
            start = time.monotonic()
            out = conn.send_command("cat /etc/hostname", read_timeout=30)
            took = time.monotonic() - start
        finally:
            conn.disconnect()
    finally:
        _fault(lab, host, "none")
    assert took >= 2.0
    assert out.strip() == host


@pytest.mark.parametrize("args", [("ios-999", "auth"), ("ios-009", "melt")])
def test_fault_bad_input_exit_2(lab: Lab, args: tuple[str, str]) -> None:
    proc = hib(lab.home, "lab", "fault", *args, check=False)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
