"""Host selection parses inventories like ansible-playbook does, yaml tried before auto."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.orchestration.selection import select_hosts, yaml_before_auto

REPO = Path(__file__).resolve().parents[3]

GENERATOR = """\
plugin: ansible.builtin.generator
hosts:
  name: "{{ op }}-{{ env }}"
layers:
  op: [build]
  env: [dev, prod]
"""


def test_yaml_moves_before_auto_and_nothing_else_moves() -> None:
    assert yaml_before_auto(["host_list", "script", "auto", "yaml", "ini", "toml"]) == [
        "host_list", "script", "yaml", "auto", "ini", "toml"]
    assert yaml_before_auto(["ansible.builtin.auto", "ansible.builtin.yaml"]) == [
        "ansible.builtin.yaml", "ansible.builtin.auto"]
    assert yaml_before_auto(["yaml", "auto", "ini"]) == ["yaml", "auto", "ini"]
    assert yaml_before_auto(["auto", "ini"]) == ["auto", "ini"]


def test_plain_yaml_and_plugin_configs_both_still_parse(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yml"
    plain.write_text("all:\n  children:\n    network:\n      hosts: {r1: {}, r2: {}}\n")
    config = tmp_path / "generated.yml"
    config.write_text(GENERATOR)
    assert select_hosts([str(plain)], ["network"], None) == ["r1", "r2"]
    assert sorted(select_hosts([str(config)], ["all"], None)) == ["build-dev", "build-prod"]
    # ansible-playbook's own parse with the repository's ansible.cfg (yaml before auto)
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(config), "--graph"],
        cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "build-dev" in listed and "build-prod" in listed


def test_broken_yaml_is_still_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("all:\n  hosts: [unclosed\n")
    with pytest.raises(ConfigError, match="inventory cannot be parsed"):
        select_hosts([str(broken)], ["all"], None)
