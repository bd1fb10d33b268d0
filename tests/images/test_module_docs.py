"""The docs-only module matches the action plugin's argument spec (what ansible-test checks)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _load(path: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"_hib_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_documentation_matches_argument_spec() -> None:
    docs = _load(REPO / "plugins" / "modules" / "provider_images.py")
    action = _load(REPO / "plugins" / "action" / "provider_images.py")
    documented = yaml.safe_load(docs.DOCUMENTATION)["options"]
    spec = action.ARGUMENT_SPEC
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert bool(documented[name].get("no_log")) is False  # no_log lives in the spec only
    assert spec["settings"]["no_log"] is True
    yaml.safe_load(docs.EXAMPLES)
    returned = yaml.safe_load(docs.RETURN)
    assert {"changed", "hib_kind", "objects", "error_code", "msg"} <= set(returned)
    assert set(returned["objects"]["contains"]) == {
        "new",
        "changed",
        "unchanged",
        "deleted_upstream",
        "failed",
        "bytes",
    }
