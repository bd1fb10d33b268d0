"""The docs-only modules must describe exactly what their action plugins accept (ansible-test's
validate-modules check, done here without its network-bound installer)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
MODULES = ["device_config", "device_batch", "device_result", "config_commit"]
TYPES = {"str": "str", "list": "list", "float": "float", "int": "int", "bool": "bool",
         "dict": "dict"}


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_hib_{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_the_argument_spec(name: str) -> None:
    doc = yaml.safe_load(_load(REPO / "plugins" / "modules" / f"{name}.py").DOCUMENTATION)
    spec: dict[str, Any] = _load(REPO / "plugins" / "action" / f"{name}.py").ARGUMENT_SPEC
    options = doc["options"]
    assert set(options) == set(spec)
    for option, rules in spec.items():
        assert options[option]["type"] == TYPES[rules["type"]], option
        assert options[option].get("elements") == rules.get("elements"), option
        if any(word in option for word in ("password", "secret")) and rules["type"] == "str":
            assert rules.get("no_log") is True, option
    for block in ("EXAMPLES", "RETURN"):
        assert yaml.safe_load(getattr(_load(REPO / "plugins" / "modules" / f"{name}.py"), block))


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_the_module(name: str) -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-doc")), f"hib.orchestrator.{name}"],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"hib.orchestrator.{name}" in proc.stdout
