"""`pip install hib-orchestrator` from the wheel: `hib` and the collection work from any directory.

The backups run in an empty directory holding only the user's inventory: no hib ``ansible.cfg``,
nothing from this checkout on ``sys.path`` or ``ANSIBLE_COLLECTIONS_PATH``.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

from tests.install.conftest import RECORDER_CFG, Installed, Lab

COLLECTION = "ansible_collections/hib/orchestrator"


def test_wheel_holds_the_collection_and_the_package_data(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for path in ("galaxy.yml", "README.md", "meta/runtime.yml", "playbooks/backup.yml",
                 "plugins/callback/recorder.py", "plugins/action/device_batch.py",
                 "plugins/modules/device_batch.py", "plugins/strategy/fleet.py"):
        assert f"{COLLECTION}/{path}" in names, path
    # every plugin and playbook of the checkout, whatever gets added later
    repo = Path(__file__).resolve().parents[2]
    for folder in ("plugins", "playbooks"):
        for src in (repo / folder).rglob("*"):
            if src.is_file() and "__pycache__" not in src.parts:
                assert f"{COLLECTION}/{src.relative_to(repo)}" in names, src
    assert not [n for n in names if n.endswith(".pyc")]
    # data files hib_orchestrator reads at run time
    assert any(n.startswith("hib_orchestrator/devices/profiles/") and n.endswith(".yaml")
               for n in names)
    assert "hib_orchestrator/db/migrations/script.py.mako" in names
    assert any(n.startswith("hib_orchestrator/db/migrations/versions/") for n in names)
    assert "hib_orchestrator/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "bench/", "collections/"))]


def _runs(installed: Installed, work: Path, home: Path) -> list[dict]:
    return json.loads(installed.run(work, home, "hib", "runs", "--json").stdout)


def _commits(home: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(home / "configs"), "log", "--format=%s"],
                         capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_collection_comes_from_the_venv(installed: Installed, workdir: Path, tmp_path: Path
                                        ) -> None:
    home = tmp_path / "home"
    out = installed.run(workdir, home, "ansible-galaxy", "collection", "list",
                        "hib.orchestrator", "--format", "json").stdout
    paths = list(json.loads(out))
    assert paths == [str(installed.site_packages / "ansible_collections")]
    doc = installed.run(workdir, home, "ansible-doc", "-t", "callback", "--json",
                        "hib.orchestrator.recorder").stdout
    recorder = json.loads(doc)["hib.orchestrator.recorder"]["doc"]["filename"]
    assert recorder.startswith(str(installed.site_packages))


def test_backup_from_an_empty_directory(installed: Installed, lab: Lab, workdir: Path,
                                        tmp_path: Path) -> None:
    home = tmp_path / "home"
    # ansible-playbook with the collection's playbook; one documented line enables the recorder
    (workdir / "ansible.cfg").write_text(RECORDER_CFG)
    installed.run(workdir, home, "ansible-playbook", "hib.orchestrator.backup", "-i", "inv.yml")
    runs = _runs(installed, workdir, home)
    assert [r["status"] for r in runs] == ["successful"]
    assert runs[0]["playbook"].startswith(str(installed.site_packages / COLLECTION))
    devices = sorted(h["host"] for h in json.loads(
        installed.run(workdir, home, "hib", "runs", "show", "latest", "--json").stdout)["hosts"])
    assert len(devices) == 3
    assert len(_commits(home)) == 1
    assert sorted(p.stem for p in (home / "configs").glob("*/*.cfg")) == devices

    # hib run: no ansible.cfg at all, hib enables the recorder and its own settings itself
    (workdir / "ansible.cfg").unlink()
    doc = json.loads(installed.run(workdir, home, "hib", "run", "-i", "inv.yml", "--json").stdout)
    assert doc["status"] == "successful"
    assert sorted(h["host"] for h in doc["hosts"]) == devices
    assert doc["playbook"].startswith(str(installed.site_packages / COLLECTION))
    runs = _runs(installed, workdir, home)
    assert [r["status"] for r in runs] == ["successful", "successful"]
    assert len(_commits(home)) == 1  # nothing changed since the first backup
    assert sorted(workdir.iterdir()) == [workdir / "inv.yml"]  # nothing written beside it
