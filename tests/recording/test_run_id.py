"""The run id: exported to the workers when the callback creates the run; ``hib run``'s run
(``HIB_RUN_ID``) is attached to instead of creating a second one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from hib_orchestrator.db.base import utcnow
from hib_orchestrator.db.models import Run
from hib_orchestrator.recording import open_engine
from tests.recording.conftest import Ansible, write_inventory


def _seen_ids(stdout: str) -> set[str]:
    return set(re.findall(r"run id is (\S+?)\"", stdout))


def test_workers_see_the_run_id_the_callback_created(
    ansible: Ansible, tmp_path: Path, hib: Any
) -> None:
    proc = ansible.run("run_id.yml", write_inventory(tmp_path / "inv.yml", {"a": {}, "b": {}}))
    assert proc.returncode == 0, proc.stderr
    run = hib("runs")[0]
    assert _seen_ids(proc.stdout) == {str(run["id"])}


def test_an_existing_run_is_attached_to(ansible: Ansible, tmp_path: Path, hib: Any) -> None:
    with open_engine().begin() as conn:  # what `hib run` does before starting ansible-playbook
        run_id = conn.execute(insert(Run).values(
            status="running", playbook="hib run: backup", started_at=utcnow(), pid=1,
            hostname="elsewhere", heartbeat_at=utcnow()).returning(Run.id)).scalar_one()
    proc = ansible.run("run_id.yml", write_inventory(tmp_path / "inv.yml", {"a": {}}),
                       env={"HIB_RUN_ID": str(run_id)})
    assert proc.returncode == 0, proc.stderr
    runs = hib("runs")
    assert [(r["id"], r["status"], r["hosts_total"], r["playbook"]) for r in runs] == [
        (run_id, "successful", 1, "hib run: backup")]
    assert _seen_ids(proc.stdout) == {str(run_id)}


def test_an_unknown_run_id_starts_a_new_run_and_says_so(
    ansible: Ansible, tmp_path: Path, hib: Any
) -> None:
    proc = ansible.run("run_id.yml", write_inventory(tmp_path / "inv.yml", {"a": {}}),
                       env={"HIB_RUN_ID": "4242"})
    assert proc.returncode == 0, proc.stderr
    assert "run 4242 (HIB_RUN_ID) does not exist" in proc.stderr
    run = hib("runs")[0]
    assert run["id"] != 4242 and _seen_ids(proc.stdout) == {str(run["id"])}
