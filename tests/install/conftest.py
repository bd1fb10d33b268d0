"""Fixtures for installing hib as a user would: a wheel in a fresh virtualenv, nothing from here.

``installed`` builds the wheel (``pip wheel --no-deps``) and installs it with the ``lab`` extra
in a new virtualenv, once per test session. ``lab`` starts that venv's ``hib lab up`` in a temp
``HIB_HOME``. Every command runs with an environment scrubbed of this checkout: no
``PYTHONPATH``, no ``ANSIBLE_*``/``HIB_*`` from the outer shell, the venv's ``bin`` first on
``PATH`` and a working directory under the test's temp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# One line of ansible.cfg turns the recorder on (README, quick start).
RECORDER_CFG = "[defaults]\ncallbacks_enabled = hib.orchestrator.recorder\n"


@dataclass(frozen=True)
class Installed:
    """A virtualenv with hib installed from its wheel."""

    venv: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def site_packages(self) -> Path:
        code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        out = subprocess.run([str(self.bin / "python"), "-c", code],
                             capture_output=True, text=True, check=True)
        return Path(out.stdout.strip())

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """The environment of a user of this venv, with ``HIB_HOME`` set to ``home``."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ANSIBLE_", "HIB_", "PYTHON", "VIRTUAL_ENV"))}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", HIB_HOME=str(home),
                   VIRTUAL_ENV=str(self.venv), **extra)
        return env

    def run(self, cwd: Path, home: Path, *cmd: str, check: bool = True,
            **extra: str) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` (a program of the venv) in ``cwd``; fails the test with its output."""
        proc = subprocess.run([str(self.bin / cmd[0]), *cmd[1:]], cwd=cwd,
                              env=self.env(home, **extra), capture_output=True, text=True,
                              timeout=300)
        if check and proc.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc


def _pip(python: Path, *args: str, cwd: Path) -> None:
    proc = subprocess.run([str(python), "-m", "pip", *args, "-q", "--disable-pip-version-check"],
                          cwd=cwd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"pip {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """hib from its wheel, with the lab extra, in a virtualenv of its own."""
    base = tmp_path_factory.mktemp("install")
    dist = base / "dist"
    _pip(Path(sys.executable), "wheel", "--no-deps", "--wheel-dir", str(dist), str(REPO), cwd=base)
    wheel = next(dist.glob("hib_orchestrator-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    _pip(venv / "bin" / "python", "install", f"{wheel}[lab]", cwd=base)
    return Installed(venv, wheel)


@dataclass(frozen=True)
class Lab:
    """A running lab of the installed venv, and a copy of its inventory."""

    home: Path
    inventory: Path


@pytest.fixture(scope="session")
def lab(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``hib lab up --devices 3`` from the installed venv, stopped at the end of the session."""
    base = tmp_path_factory.mktemp("install-lab")
    home = base / "home"
    try:
        out = installed.run(base, home, "hib", "lab", "up", "--devices", "3")
        inventory = base / "inventory.yml"
        shutil.copy(out.stdout.strip().splitlines()[-1], inventory)
        yield Lab(home, inventory)
    finally:
        installed.run(base, home, "hib", "lab", "down", check=False)


@pytest.fixture
def workdir(tmp_path: Path, lab: Lab) -> Path:
    """An empty directory holding nothing but the user's inventory (``inv.yml``)."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(lab.inventory, work / "inv.yml")
    return work
