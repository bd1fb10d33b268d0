"""`ansible-galaxy collection build` + `install` of the tarball, used from an empty directory.

The Python package comes from the wheel's virtualenv; the collection Ansible loads is the one
installed from the tarball (``collections_path`` in the user's ansible.cfg comes first).
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from tests.install.conftest import RECORDER_CFG, REPO, Installed, Lab


def test_galaxy_tarball_installs_and_backs_up(installed: Installed, lab: Lab, workdir: Path,
                                              tmp_path: Path) -> None:
    home = tmp_path / "home"
    built = tmp_path / "built"
    installed.run(tmp_path, home, "ansible-galaxy", "collection", "build", str(REPO),
                  "--output-path", str(built))
    tarball = next(built.glob("hib-orchestrator-*.tar.gz"))
    with tarfile.open(tarball) as tar:
        members = set(tar.getnames())
    assert {"MANIFEST.json", "FILES.json", "meta/runtime.yml", "playbooks/backup.yml",
            "plugins/callback/recorder.py", "plugins/action/device_batch.py"} <= members
    # the Python package, its tests and the build's own files stay out of the collection
    assert not [m for m in members if m.startswith(("hib_orchestrator", "tests", "bench",
                                                    ".venv", "collections"))]
    assert not {"pyproject.toml", "hatch_build.py"} & members

    collections = tmp_path / "collections"
    # --force: ansible-galaxy counts the wheel's copy (on sys.path) as already installed
    installed.run(tmp_path, home, "ansible-galaxy", "collection", "install", "--force",
                  str(tarball), "-p", str(collections))
    (workdir / "ansible.cfg").write_text(
        RECORDER_CFG + f"collections_path = {collections}\n")
    listed = json.loads(installed.run(workdir, home, "ansible-galaxy", "collection", "list",
                                      "hib.orchestrator", "--format", "json").stdout)
    assert str(collections / "ansible_collections") in listed

    installed.run(workdir, home, "ansible-playbook", "hib.orchestrator.backup", "-i", "inv.yml")
    # the configured collections_path wins over the wheel's copy on sys.path
    runs = json.loads(installed.run(workdir, home, "hib", "runs", "--json").stdout)
    assert [r["status"] for r in runs] == ["successful"]
    assert runs[0]["playbook"] == str(
        collections / "ansible_collections" / "hib" / "orchestrator" / "playbooks" / "backup.yml")
    assert runs[0]["hosts_total"] == 3
    assert len(list((home / "configs").glob("*/*.cfg"))) == 3
