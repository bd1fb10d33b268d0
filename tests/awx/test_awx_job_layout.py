"""The collection run the way AWX runs a job: ansible-runner on a private data dir it lays out
(project checkout, inventory script, env/extravars, env/envvars with the custom credential's
variables, artifacts), no process isolation, the recorder writing to PostgreSQL.

Nothing of the repository's own set-up is used: no `ansible.cfg`, no `playbooks/` path; the
project's playbook imports `hib.orchestrator.backup` from the collection that AWX installed from
the project's `collections/requirements.yml` into `requirements_collections/`.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.recording.conftest import PG_URL, _pg_database

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IDENT = "4217"  # AWX names the artifacts directory after the job id

pytestmark = pytest.mark.postgres


def _hib(home: Path, *args: str, env: dict[str, str] | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HIB_")}
    full.update(HIB_HOME=str(home), **(env or {}))
    proc = subprocess.run([str(BIN / "hib"), *args], env=full, capture_output=True, text=True,
                          timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"hib {' '.join(args)} -> {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    home = tmp_path_factory.mktemp("awx-lab")
    try:
        out = _hib(home, "lab", "up", "--devices", "6", "--seed", "15").stdout
        yield home, Path(out.strip().splitlines()[-1])
    finally:
        _hib(home, "lab", "down", check=False)


@pytest.fixture
def db_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("HIB_TEST_PG_URL is not set (run under .ci/with-postgres.sh)")
    yield from _pg_database()


def _inventory_script(inventory: Path) -> str:
    """The lab inventory as AWX hands it to a job: an executable printing inventory JSON."""
    groups: dict[str, Any] = {}
    hostvars: dict[str, Any] = {}

    def walk(name: str, node: dict[str, Any]) -> None:
        group = groups.setdefault(name, {"hosts": [], "children": []})
        for host, hvars in (node.get("hosts") or {}).items():
            group["hosts"].append(host)
            hostvars[host] = hvars or {}
        for child, sub in (node.get("children") or {}).items():
            group["children"].append(child)
            walk(child, sub or {})

    walk("all", yaml.safe_load(inventory.read_text())["all"])
    doc = {**groups, "_meta": {"hostvars": hostvars}}
    return f"#!{sys.executable}\nprint({json.dumps(doc)!r})\n"  # called with --list


def _private_data_dir(root: Path, inventory: Path, envvars: dict[str, str]) -> Path:
    pdd = root / "awx_4217_job"
    project = pdd / "project"
    project.mkdir(parents=True)
    (project / "backup.yml").write_text(
        "---\n# An AWX project using the collection's playbook.\n"
        "- name: Nightly hib backup\n  ansible.builtin.import_playbook: hib.orchestrator.backup\n"
    )
    (project / "collections").mkdir()
    (project / "collections" / "requirements.yml").write_text(
        "collections:\n  - name: hib.orchestrator\n"
    )
    # AWX's project sync installs collections/requirements.yml here; the checkout stands in for
    # the installed collection (a built tarball would install the same files).
    installed = pdd / "requirements_collections" / "ansible_collections" / "hib"
    installed.mkdir(parents=True)
    (installed / "orchestrator").symlink_to(REPO)
    script = pdd / "inventory" / "hosts"
    script.parent.mkdir()
    script.write_text(_inventory_script(inventory))
    script.chmod(0o700)
    env = pdd / "env"
    env.mkdir()
    (env / "extravars").write_text(yaml.safe_dump({"hib_timeout": 20}))
    (env / "envvars").write_text(yaml.safe_dump(envvars))
    (env / "settings").write_text(yaml.safe_dump({"job_timeout": 600}))
    (pdd / "artifacts").mkdir()
    return pdd


def test_awx_job_records_every_device_in_postgres_and_leaks_no_secret(
    lab: tuple[Path, Path], db_url: str, tmp_path: Path
) -> None:
    lab_home, inventory = lab
    home = tmp_path / "hib-home"  # the job's HIB_HOME: ephemeral in an EE
    provider_secret = secrets.token_hex(16)
    pdd_root = tmp_path / "awx"
    pdd_root.mkdir()
    envvars = {
        # What the "hib" custom credential type injects (docs/awx.md).
        "HIB_DB_URL": db_url,
        "AWS_ACCESS_KEY_ID": "hib-awx-test",
        "AWS_SECRET_ACCESS_KEY": provider_secret,
        # What AWX itself sets for a job (paths as seen from inside the job's private data dir).
        "HIB_HOME": str(home),
        "ANSIBLE_CALLBACKS_ENABLED": "hib.orchestrator.recorder",
        "ANSIBLE_COLLECTIONS_PATH": f"{pdd_root / 'awx_4217_job' / 'requirements_collections'}"
                                    ":~/.ansible/collections:/usr/share/ansible/collections",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
        "JOB_ID": IDENT,
        "AWX_HOST": "https://awx.example.invalid",
    }
    pdd = _private_data_dir(pdd_root, inventory, envvars)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIB_", "ANSIBLE_"))}
    env.update(PATH=f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(BIN / "ansible-runner"), "run", str(pdd), "-p", "backup.yml", "--ident", IDENT],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    artifacts = pdd / "artifacts" / IDENT
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else ""
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{stdout}"
    assert (artifacts / "status").read_text() == "successful"
    assert "hib recorder" not in stdout  # the recorder reports its own failures there

    devices = sorted(
        h for g in yaml.safe_load(inventory.read_text())["all"]["children"]["network"]
        ["children"].values() for h in g["hosts"]
    )
    db = {"HIB_DB_URL": db_url}
    run = json.loads(_hib(home, "runs", "show", "latest", "--json", env=db).stdout)
    rows = {h["host"]: h for h in run["hosts"]}
    assert run["status"] == "successful" and sorted(rows) == devices
    commits = {rows[h]["commit"] for h in devices}
    assert len(commits) == 1 and None not in commits  # one commit for the job
    for host in devices:
        assert (rows[host]["kind"], rows[host]["status"]) == ("device", "changed")
        assert _hib(home, "config", host, env=db).stdout.strip()
    log = subprocess.run(["git", "-C", str(home / "configs"), "log", "--format=%H"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert commits == {log[0]}

    planted = [s for s in _hib(lab_home, "lab", "secrets").stdout.splitlines() if s.strip()]
    assert planted
    store = subprocess.run(["git", "-C", str(home / "configs"), "log", "-p", "--all"],
                           capture_output=True, text=True, check=True).stdout
    recorded = json.dumps(run)
    leaked = [("store/db", s) for s in [*planted, provider_secret]
              if s in store or s in recorded]
    for path in (pdd / "artifacts").rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        leaked += [(path.name, s) for s in planted if s in text]
        # ansible-runner itself dumps the job's environment, credential variables included,
        # into artifacts/<ident>/command (AWX keeps only a redacted copy, docs/awx.md). Nothing
        # else (events, stdout, hib's own output) may carry them.
        if provider_secret in text and path.name != "command":
            leaked.append((path.name, provider_secret))
    assert not leaked, leaked
    assert json.loads((artifacts / "command").read_text())["env"]["AWS_SECRET_ACCESS_KEY"] \
        == provider_secret
