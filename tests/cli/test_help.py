"""``hib --help``: click's plain help, every command with its whole description."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hib_orchestrator.cli import main

COMMANDS = ("hosts", "history", "config", "diff", "verify", "prune", "run", "render", "lab",
            "runs", "db", "images")


def _help(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hib_orchestrator", *argv],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "80"})


def test_help_lists_every_command_with_its_whole_description() -> None:
    proc = _help("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    listed = proc.stdout.split("Commands:\n", 1)[1]
    assert [line.split()[0] for line in listed.splitlines() if line[:3].strip()] == list(COMMANDS)
    # Long descriptions wrap instead of being cut short with "...".
    assert "staleness (default\n           bound 24h)." in listed
    assert not [line for line in listed.splitlines() if line.endswith("...")]


@pytest.mark.parametrize("group", ["lab", "runs", "db", "images"])
def test_group_help_is_not_cut_short(group: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([group, "--help"]) == 0
    listed = capsys.readouterr().out.split("Commands:\n", 1)[1]
    assert listed.strip() and not [ln for ln in listed.splitlines() if ln.endswith("...")]


def test_bare_hib_prints_the_help_on_stdout_and_exits_2() -> None:
    proc = _help()
    assert proc.returncode == 2
    assert proc.stdout.startswith("Usage: hib [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in proc.stdout
