"""Under ansible-runner (which forces its own stdout callback) the notification callback still
records; a runner cancel (SIGKILL of the process group) never leaves the run "running"."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import ansible_runner

from tests.recording.conftest import PLAYBOOKS, REPO, Ansible, kill_leftovers, write_inventory


def _run(ansible: Ansible, tmp_path: Path, playbook: str, hosts: dict[str, Any],
         **kwargs: Any) -> Any:
    env = ansible.env()
    (tmp_path / "runner").mkdir(exist_ok=True)
    return ansible_runner.run(
        private_data_dir=str(tmp_path / "runner"),
        project_dir=str(REPO),
        playbook=str(PLAYBOOKS / playbook),
        inventory=str(write_inventory(tmp_path / "inv.yml", hosts)),
        envvars={k: env[k] for k in ("ANSIBLE_CONFIG", "HIB_HOME", "HIB_DB_URL", "PATH")},
        quiet=True,
        **kwargs,
    )


def test_runner_run_is_recorded(ansible: Ansible, tmp_path: Path, hib: Any) -> None:
    hosts = {f"rr{i}": {"outcome": ("ok", "changed", "failed")[i % 3]} for i in range(9)}
    result = _run(ansible, tmp_path, "statuses.yml", hosts)
    assert result.status == "failed"
    run = hib("runs")[0]
    assert (run["status"], run["hosts_total"], run["ok"], run["changed"], run["failed"]) == (
        "failed", 9, 3, 3, 3)


def test_runner_cancel_leaves_no_running_run(ansible: Ansible, tmp_path: Path, hib: Any) -> None:
    started = time.monotonic()

    errors: list[BaseException] = []
    canceled: list[bool] = []

    def cancel() -> bool:
        # Cancel once the run is recorded and sits in its long task; runner asks again after
        # the kill, so the answer must stay "yes".
        if canceled:
            return True
        if time.monotonic() - started < 1:
            return False
        try:
            runs = hib("runs")
        except BaseException as err:  # runner would hide it behind "failed"
            errors.append(err)
            raise
        if runs and runs[0]["status"] == "running" and runs[0]["hosts_total"] == 3:
            canceled.append(True)
        return bool(canceled)

    result = _run(ansible, tmp_path, "slow.yml", {f"c{i}": {} for i in range(3)},
                  cancel_callback=cancel)
    assert not errors
    kill_leftovers(tmp_path / "inv.yml")  # runner kills the controller's group, not workers
    assert result.status == "canceled"
    deadline = time.monotonic() + 30
    while hib("runs")[0]["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    run = hib("runs")[0]
    assert run["status"] == "interrupted" and run["hosts_total"] == 3
