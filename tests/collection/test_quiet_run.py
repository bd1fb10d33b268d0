"""A normal run prints no warning the user cannot act on: the one hib silences is cryptography's
DSA deprecation, raised by ansible-core's ssh-agent import at every start (docs/collection.md);
every other warning still shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.collection.conftest import QUIET_WARNINGS, REPO, VENV_BIN

#: Warnings hib leaves on purpose, each for a reason (none today).
ALLOWED: tuple[re.Pattern[str], ...] = ()
WARNING_LINE = re.compile(r"warning", re.IGNORECASE)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HIB_", "ANSIBLE_", "PYTHONWARNINGS"))}
    return {**env, "HIB_HOME": str(home), **extra}


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if WARNING_LINE.search(line) and not any(p.search(line) for p in ALLOWED)]


def test_the_filter_hides_the_dsa_deprecation_only(tmp_path: Path) -> None:
    code = (
        "import warnings\n"
        "from cryptography.utils import CryptographyDeprecationWarning as W\n"
        "warnings.warn('DSA is deprecated and support will be removed', W)\n"
        "warnings.warn('TripleDES has been moved', W)\n"
        "warnings.warn('a real deprecation', DeprecationWarning)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(tmp_path, PYTHONWARNINGS=QUIET_WARNINGS), check=True)
    assert "DSA is deprecated" not in proc.stderr
    assert "TripleDES has been moved" in proc.stderr
    assert "a real deprecation" in proc.stderr


def test_demo_sets_the_same_filter() -> None:
    assert f'PYTHONWARNINGS="{QUIET_WARNINGS}' in (REPO / ".ci" / "demo.sh").read_text()


@pytest.mark.slow
def test_demo_and_hib_run_print_no_warning(tmp_path: Path) -> None:
    home = tmp_path / "hib"
    env = _env(home)
    try:
        venv = os.path.relpath(VENV_BIN.parent, REPO)  # demo.sh takes it relative to the repo
        demo = subprocess.run(["bash", str(REPO / ".ci" / "demo.sh"), venv, "4"],
                              capture_output=True, text=True, env=env, timeout=400, check=False)
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        assert _warnings(demo.stderr) == [] and _warnings(demo.stdout) == []
        inventory = demo.stdout.split("== lab inventory: ", 1)[1].splitlines()[0]
        run = subprocess.run([str(VENV_BIN / "hib"), "run", "-i", inventory], cwd=REPO,
                             capture_output=True, text=True, env=env, timeout=300, check=False)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert _warnings(run.stderr) == [] and _warnings(run.stdout) == []
        # what ansible-playbook printed under ansible-runner (shown on failures and --verbose)
        (stdout,) = (home / "runner").glob("*/artifacts/*/stdout")
        assert _warnings(stdout.read_text()) == []
    finally:
        subprocess.run([str(VENV_BIN / "hib"), "lab", "down"], env=env, capture_output=True,
                       timeout=120, check=False)
