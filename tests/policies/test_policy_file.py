from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.policies import Retention, load_policies, render_policy

CONTRACT_EXAMPLE = """\
policies:
  nightly-core:                 # a name used by `hib render` / `hib run --policy`
    hosts: "network:&core"      # an Ansible host pattern
    platforms: [cisco_ios, arista_eos]   # optional filter by platform
    where: {hib_status: online} # optional filter on host vars (all must match)
    collect: [configs]          # configs and/or images
    forks: 50
    timeout: 60                 # seconds per device
    retries: 2
    check: false
    schedule: "0 2 * * *"       # kept for scheduling; not acted on by render
  images-daily:
    hosts: image_hosts
    collect: [images]
    retention: {keep_last: 3, keep_daily: 14, keep_weekly: 8}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hib.yml"
    path.write_text(text)
    return path


def test_contract_example_loads(tmp_path: Path) -> None:
    pf = load_policies(write(tmp_path, CONTRACT_EXAMPLE))
    core = pf.get("nightly-core")
    assert core.hosts == "network:&core"
    assert core.platforms == ("cisco_ios", "arista_eos")
    assert core.where == {"hib_status": "online"}
    assert (core.forks, core.timeout, core.retries, core.check) == (50, 60, 2, False)
    assert core.schedule == "0 2 * * *"
    assert pf.get("images-daily").retention == Retention(keep_last=3, keep_daily=14, keep_weekly=8)


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("    forks: 50\n", "    forkz: 50\n", ":7: policies.nightly-core.forkz: unknown key"),
        ("    forks: 50\n", "    forks: fifty\n", ":7: policies.nightly-core.forks: expected an"),
        ("    check: false\n", "    check: maybe\n", ":10: policies.nightly-core.check: expected"),
        ("collect: [configs]", "collect: [configz]", ":6: policies.nightly-core.collect: unknown"),
        ('schedule: "0 2 * * *"', 'schedule: "every night"', ":11: policies.nightly-core.schedule"),
        ("keep_weekly: 8", "keep_monthly: 8", ":15: policies.images-daily.retention.keep_monthly"),
        ('    hosts: "network:&core"      # an Ansible host pattern\n', "",
         ":3: policies.nightly-core: missing required key 'hosts'"),
    ],
)
def test_mistakes_name_file_line_and_key(
    tmp_path: Path, replace: str, by: str, expected: str
) -> None:
    assert replace in CONTRACT_EXAMPLE
    path = write(tmp_path, CONTRACT_EXAMPLE.replace(replace, by))
    with pytest.raises(ConfigError) as info:
        load_policies(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "policies:\n  a:\n    hosts: [unclosed\n")
    with pytest.raises(ConfigError, match=r"hib\.yml:\d+: YAML syntax error"):
        load_policies(path)


def test_missing_file_and_unknown_policy(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="policy file not found"):
        load_policies(tmp_path / "nope.yml")
    pf = load_policies(write(tmp_path, CONTRACT_EXAMPLE))
    known = r"\(known: images-daily, nightly-core\)"
    with pytest.raises(ConfigError, match=rf"no policy named 'nightly' {known}"):
        pf.get("nightly")


def test_rendered_playbook_selects_and_passes_knobs(tmp_path: Path) -> None:
    pf = load_policies(write(tmp_path, CONTRACT_EXAMPLE))
    plays = yaml.safe_load(render_policy(pf.get("nightly-core"), pf.path))
    select, configs, report = plays
    assert select["hosts"] == "network:&core"
    group_by = select["tasks"][0]
    assert group_by["ansible.builtin.group_by"] == {"key": "hib_policy_selected"}
    assert any("hib_status" in cond and "'online'" in cond for cond in group_by["when"])
    assert configs["hosts"] == "hib_policy_selected:&network"
    assert configs["vars"] == {"hib_timeout": 60, "hib_retries": 2}
    assert configs["check_mode"] is False
    actions = [next(k for k in t if k.startswith(("hib.", "ansible."))) for t in configs["tasks"]]
    assert actions == ["hib.orchestrator.device_batch", "hib.orchestrator.config_commit",
                       "ansible.builtin.add_host"]
    assert configs["tasks"][1]["run_once"] is True
    # the devices that failed are handed back to Ansible one by one
    assert report["hosts"] == "hib_report_devices"
    assert report["check_mode"] is False
    assert "hib.orchestrator.device_result" in report["tasks"][-1]


def test_rendered_images_policy_applies_retention(tmp_path: Path) -> None:
    pf = load_policies(write(tmp_path, CONTRACT_EXAMPLE))
    plays = yaml.safe_load(render_policy(pf.get("images-daily"), pf.path))
    assert [p["hosts"] for p in plays] == ["image_hosts", "hib_policy_selected:&image_hosts"]
    prune = plays[1]["tasks"][1]["ansible.builtin.command"]["argv"]
    assert prune == ["hib", "prune", "--json", "--keep-last", "3", "--keep-daily", "14",
                     "--keep-weekly", "8"]
