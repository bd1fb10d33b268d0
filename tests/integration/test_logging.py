"""hib's own log lines from inside ansible-playbook: JSON with run id, host and operation."""

from __future__ import annotations

import json

from .conftest import Lab, hib


def test_json_log_lines_from_a_real_playbook(lab: Lab) -> None:
    host = next(h for h in lab.hosts() if h.startswith("eos-"))
    hib(lab.home, "lab", "fault", host, "auth")
    try:
        run = lab.run("--limit", f"{host}:linux-*", tag="logs",
                      env={"HIB_LOG_FORMAT": "json", "HIB_LOG_LEVEL": "INFO"})
    finally:
        hib(lab.home, "lab", "fault", host, "none")
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    by_host = {line["host"]: line for line in lines if line.get("operation") == "device_config"}
    assert by_host[host]["level"] == "warning"
    assert "AUTH_FAILED" in by_host[host]["message"]
    linux = [h for h in by_host if h.startswith("linux-")]
    assert linux and all(by_host[h]["level"] == "info" for h in linux)
    run_ids = {line["run_id"] for line in by_host.values()}
    assert len(run_ids) == 1 and run_ids != {None}
