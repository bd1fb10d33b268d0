from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from hib_orchestrator.devices.profiles import PlatformRegistry, registry
from hib_orchestrator.errors import ConfigError, ErrorCode, UnsupportedPlatform

LAB_PLATFORMS = [
    "arista_eos", "cisco_ios", "cisco_nxos", "cisco_xr", "hp_comware", "huawei",
    "juniper_junos", "linux",
]


def test_every_lab_platform_has_a_profile_with_commands() -> None:
    names = registry().names()
    for platform in LAB_PLATFORMS:
        assert platform in names
        assert registry().get(platform).commands


@pytest.mark.parametrize(
    ("name", "expected"),
    [("cisco.ios.ios", "cisco_ios"), ("IOS", "cisco_ios"), ("arista.eos.eos", "arista_eos"),
     ("junipernetworks.junos.junos", "juniper_junos"), ("cisco.nxos.nxos", "cisco_nxos"),
     ("vrp", "huawei"), ("juniper_junos", "juniper_junos")],
)
def test_aliases_and_fqcn_network_os_names_resolve(name: str, expected: str) -> None:
    assert registry().get(name).name == expected


def test_unknown_platform_is_unsupported_platform_with_host() -> None:
    with pytest.raises(UnsupportedPlatform) as info:
        registry().get("acme_os", host="r1")
    assert info.value.code == ErrorCode.UNSUPPORTED_PLATFORM
    assert info.value.host == "r1"


def test_bases_are_merged_lists_concatenated() -> None:
    ios = registry().get("cisco_ios")
    assert ios.end_marker == "^end$"
    assert any("enable" in p for p in ios.mask_secrets)  # from _cisco_family
    assert any("Last configuration change" in p for p in ios.ignore_lines)  # its own


def test_overrides_replace_commands_and_add_filters() -> None:
    ios = registry().get("cisco_ios")
    custom = ios.with_overrides({"commands": ["show startup-config"],
                                 "extra_ignore_lines": ["^! uptime"], "min_lines": 2,
                                 "max_drop_pct": None})
    assert custom.commands == ("show startup-config",)
    assert custom.ignore_lines == (*ios.ignore_lines, "^! uptime")
    assert custom.min_lines == 2
    assert custom.max_drop_pct == ios.max_drop_pct


@pytest.mark.parametrize(
    "overrides",
    [{"commands": []}, {"extra_ignore_lines": ["(unclosed"]}, {"min_lines": "many"},
     {"max_drop_pct": 140}, {"colour": "blue"}],
)
def test_bad_overrides_are_config_errors(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        registry().get("cisco_ios").with_overrides(overrides)


def test_entry_point_plugins_add_platforms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "acme_os.yaml").write_text(
        "extends: _cisco_family\naliases: [acme]\ncommands: [show conf]\nend_marker: '^fin$'\n")
    (tmp_path / "acme_hib_plugin.py").write_text(f"PROFILE_DIR = {str(profiles)!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = metadata.EntryPoint(name="acme", group="hib_orchestrator.platforms",
                                value="acme_hib_plugin:PROFILE_DIR")
    reg = PlatformRegistry.load(extra=lambda: [entry])
    acme = reg.get("acme")
    assert acme.commands == ("show conf",)
    assert acme.end_marker == "^fin$"
    assert acme.mask_secrets == registry().get("cisco_xr").mask_secrets
    assert "cisco_ios" in reg.names()


def test_extends_loop_and_missing_commands_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="loop"):
        PlatformRegistry({"a": {"extends": "b", "commands": ["x"]}, "b": {"extends": "a"}})
    with pytest.raises(ConfigError, match="no commands"):
        PlatformRegistry({"a": {"prompt": "#"}})
