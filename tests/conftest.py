"""Suite-wide guard: no test may leave a lab daemon or provider stand-in running."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKGROUND = ("hib_orchestrator.lab.daemon", "hib_orchestrator.standins.fleet")


def _leftovers(marker: str) -> dict[int, str]:
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and any(name in cmd for name in BACKGROUND):
            found[int(proc.name)] = cmd.strip()
    return found


@pytest.fixture(scope="session", autouse=True)
def _no_background_process_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    base = str(tmp_path_factory.getbasetemp())
    yield
    left = _leftovers(base)
    for pid in left:  # never leave them to the next run, even when failing
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"tests left background processes running: {sorted(left.values())}"
