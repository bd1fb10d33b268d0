"""RANCID's ``clogin`` (OpenSSH client, keyboard-interactive auth, expect) fetches an IOS config
with the login files ``hib lab cloginrc`` writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lab.conftest import VOLATILE, Lab, hib

CLOGIN = Path("/usr/lib/rancid/bin/clogin")


@pytest.mark.skipif(not CLOGIN.exists() or not shutil.which("ssh"),
                    reason="RANCID clogin (Debian package rancid) or ssh not installed")
def test_clogin_fetches_ios_running_config(lab: Lab, tmp_path: Path) -> None:
    address = lab.hosts()["ios-001"]["ansible_host"]
    rc = Path(hib(lab.home, "lab", "cloginrc", "--dir", str(tmp_path)).stdout.strip())
    assert rc == tmp_path / "cloginrc" and (rc.stat().st_mode & 0o777) == 0o600
    proc = subprocess.run(
        [str(CLOGIN), "-f", str(rc), "-c", "show running-config", address],
        capture_output=True, text=True, timeout=120,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    out = proc.stdout.replace("\r", "")
    assert "ios-001#show running-config" in out
    assert "hostname ios-001" in out
    assert any(line.startswith(VOLATILE) for line in out.splitlines())
    assert "\nend\n" in out
