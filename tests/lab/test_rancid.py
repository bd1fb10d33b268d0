"""RANCID's ``clogin`` (OpenSSH client, keyboard-interactive auth, expect) fetches an IOS config."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lab.conftest import VOLATILE, Lab

CLOGIN = Path("/usr/lib/rancid/bin/clogin")


@pytest.mark.skipif(not CLOGIN.exists() or not shutil.which("ssh"),
                    reason="RANCID clogin (Debian package rancid) or ssh not installed")
def test_clogin_fetches_ios_running_config(lab: Lab, tmp_path: Path) -> None:
    hostvars = lab.hosts()["ios-001"]
    address = hostvars["ansible_host"]
    # clogin joins sshcmd words without spaces, so options go in a wrapper script.
    wrapper = tmp_path / "lab-ssh"
    wrapper.write_text("#!/bin/sh\nexec ssh -o StrictHostKeyChecking=no "
                       "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \"$@\"\n")
    wrapper.chmod(0o755)
    rc = tmp_path / "cloginrc"
    rc.write_text(
        f"add user {address} {hostvars['ansible_user']}\n"
        f"add password {address} {hostvars['ansible_password']} {hostvars['hib_enable_secret']}\n"
        f"add method {address} ssh:{hostvars['ansible_port']}\n"
        f"add sshcmd {address} {wrapper}\n"
    )
    rc.chmod(0o600)
    proc = subprocess.run(
        [str(CLOGIN), "-f", str(rc), "-c", "show running-config", address],
        capture_output=True, text=True, timeout=120, env={"HOME": str(tmp_path),
                                                          "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    out = proc.stdout.replace("\r", "")
    assert "ios-001#show running-config" in out
    assert "hostname ios-001" in out
    assert any(line.startswith(VOLATILE) for line in out.splitlines())
    assert "\nend\n" in out
