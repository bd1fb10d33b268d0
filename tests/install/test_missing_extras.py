"""A missing optional dependency is one line naming the extra that brings it.

The dependency is made missing for real, in the process under test: a ``sitecustomize`` on
``PYTHONPATH`` puts ``None`` in ``sys.modules`` for it, which is what Python does for a module
that cannot be imported (``import`` raises ``ModuleNotFoundError``). Ansible's workers and hib's
helper processes start from the same environment, so they lack it too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.extras import missing_extra, require_extra

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _without(tmp_path: Path, *modules: str, **extra: str) -> dict[str, str]:
    block = tmp_path / "block"
    block.mkdir(exist_ok=True)
    (block / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIB_", "ANSIBLE_"))}
    env.update(PYTHONPATH=str(block), HIB_HOME=str(tmp_path / "home"), **extra)
    return env


def _hib(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "hib"), *args], env=env, cwd=env["HIB_HOME"].rsplit("/", 1)[0],
                          capture_output=True, text=True, timeout=120)


def test_the_line_names_feature_module_and_extra() -> None:
    assert missing_extra("hib lab up --providers", "moto", "lab") == (
        "hib lab up --providers: moto is not installed; pip install 'hib-orchestrator[lab]'")
    require_extra("anything", "lab", "json", "sqlite3")  # present: no error
    with pytest.raises(ConfigError, match=r"^feature: no_such_module_hib is not installed; "
                                          r"pip install 'hib-orchestrator\[lab\]'$"):
        require_extra("feature", "lab", "json", "no_such_module_hib")


def test_lab_providers_without_moto_exit_2_and_start_nothing(tmp_path: Path) -> None:
    env = _without(tmp_path, "moto")
    proc = _hib(env, "lab", "up", "--devices", "2", "--providers")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "hib: error: hib lab up --providers: moto is not installed; "
        "pip install 'hib-orchestrator[lab]'"]
    assert proc.stdout == ""
    assert not (tmp_path / "home" / "lab").exists()  # checked before anything started


def test_lab_without_asyncssh_exit_2(tmp_path: Path) -> None:
    proc = _hib(_without(tmp_path, "asyncssh"), "lab", "up", "--devices", "2")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "hib: error: hib lab up: asyncssh is not installed; pip install 'hib-orchestrator[lab]'"]


def test_postgres_url_without_psycopg_exit_2(tmp_path: Path) -> None:
    env = _without(tmp_path, "psycopg",
                   HIB_DB_URL="postgresql+psycopg://hib:s3cret-pw@127.0.0.1:9/hib")
    proc = _hib(env, "runs")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "hib: error: PostgreSQL run database (HIB_DB_URL): psycopg is not installed; "
        "pip install 'hib-orchestrator[postgres]'"]
    assert "s3cret-pw" not in proc.stderr


def test_s3_provider_without_boto3_is_a_per_host_error(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "all:\n  children:\n    image_hosts:\n      hosts:\n"
        "        s3-nodeps:\n          hib_provider: s3\n          hib_bucket: photos\n"
        "          hib_endpoint: http://127.0.0.1:9\n          hib_access_key: AKIAEXAMPLE\n"
        "          hib_secret_key: example-secret\n")
    env = _without(tmp_path, "boto3", "botocore", "obstore")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run([str(BIN / "ansible-playbook"), "playbooks/backup.yml", "-i", str(inv)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # the host failed, the run ended
    show = json.loads(_hib(env, "runs", "show", "latest", "--json").stdout)
    (host,) = show["hosts"]
    assert host["host"] == "s3-nodeps" and host["status"] == "failed"
    assert host["error_code"] == "UNSUPPORTED_PROVIDER"
    assert host["error_message"] == (
        "provider 's3': boto3 is not installed; pip install 'hib-orchestrator[s3]'")
