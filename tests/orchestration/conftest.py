"""A lab shared by the `hib run` tests, and a helper that runs the real `hib` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HIB = str(BIN / "hib")


@dataclass
class Lab:
    home: Path
    inventory: Path

    def env(self, home: Path | None = None) -> dict[str, str]:
        env = {**os.environ, "HIB_HOME": str(home or self.home),
               "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("HIB_RUN_ID", None)
        return env

    def hib(self, *args: str, home: Path | None = None, check: bool = False,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """The real CLI with the lab's state dir (or ``home``), from the repo root."""
        proc = subprocess.run([HIB, *args], env=self.env(home), cwd=REPO, capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"hib {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
        return proc

    def lab(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`hib lab ...` always against the lab's own HIB_HOME."""
        return self.hib("lab", *args, check=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("run-lab")
    env = {**os.environ, "HIB_HOME": str(home)}
    up = subprocess.run([HIB, "lab", "up", "--devices", "16"], env=env, cwd=REPO,
                        capture_output=True, text=True, timeout=120, check=True)
    inventory = Path(up.stdout.strip().splitlines()[-1])
    try:
        yield Lab(home, inventory)
    finally:
        subprocess.run([HIB, "lab", "down"], env=env, cwd=REPO, capture_output=True,
                       timeout=120, check=False)
