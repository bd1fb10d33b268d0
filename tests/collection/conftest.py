"""The collection as it ships: built by ``ansible-galaxy collection build`` from the repository's
files, unpacked in the ``ansible_collections/hib/orchestrator`` layout ansible-test needs (the
checkout's ``collections/`` symlink to the repository root is not a layout it accepts), and an
environment that sees it instead of the checkout (no hib ``ansible.cfg``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
#: The one Python warning hib silences (docs/collection.md): ansible-core's ssh-agent module
#: imports cryptography's DSA names at every start; cryptography's DSA deprecation (a
#: CryptographyDeprecationWarning, a UserWarning) is for ansible-core to act on.
QUIET_WARNINGS = "ignore:DSA is deprecated:UserWarning"


@dataclass(frozen=True)
class Collection:
    """A built hib.orchestrator unpacked under ``root/ansible_collections``."""

    root: Path
    path: Path
    env: dict[str, str]

    def run(self, *cmd: str, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a tool of the virtualenv in this collection's environment."""
        return subprocess.run(
            [str(VENV_BIN / cmd[0]), *cmd[1:]], cwd=cwd or self.path, env=self.env,
            capture_output=True, text=True, timeout=timeout, check=False,
        )


def _repository_files() -> list[str]:
    """Tracked files plus new ones git does not ignore (a change is checked before its commit)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode()
    names = [f for f in out.split("\0") if f]
    return [f for f in names if (REPO / f).is_file() and not (REPO / f).is_symlink()]


def clean_env(root: Path) -> dict[str, str]:
    """The caller's environment without hib/Ansible settings, seeing only the collection at root."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HIB_", "ANSIBLE_", "PYTHONWARNINGS"))}
    config = root / "ansible.cfg"
    config.touch()  # Ansible's defaults, not the checkout's ansible.cfg
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_COLLECTIONS_PATH=str(root),
        ANSIBLE_NOCOLOR="1",
        PYTHONWARNINGS=QUIET_WARNINGS,
        HIB_HOME=str(root / "hib-home"),
    )
    return env


@pytest.fixture(scope="session")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Collection:
    work = tmp_path_factory.mktemp("collection")
    src = work / "src"
    for name in _repository_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    root = work / "root"
    root.mkdir()
    env = clean_env(root)
    built = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work),
         str(src)], env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert built.returncode == 0, built.stderr
    (tarball,) = work.glob("hib-orchestrator-*.tar.gz")
    path = root / "ansible_collections" / "hib" / "orchestrator"
    path.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(path, filter="data")
    # ansible-test's ignore files are repository metadata (tests/ is not collection content)
    shutil.copytree(src / "tests" / "sanity", path / "tests" / "sanity")
    return Collection(root=root, path=path, env=env)
