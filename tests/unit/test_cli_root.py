from __future__ import annotations

import subprocess
import sys

from hib_orchestrator import __version__
from hib_orchestrator.cli import main


def test_version(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hib {__version__}"


def test_unknown_command_is_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hib_orchestrator", "no-such-command"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "No such command" in proc.stderr


def test_bad_configuration_is_one_line_and_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hib_orchestrator", "lab", "status"],
        capture_output=True, text=True, check=False,
        env={"HIB_LOG_FORMAT": "xml", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "hib: error: HIB_LOG_FORMAT must be one of text, json, not 'xml'"
    ]
