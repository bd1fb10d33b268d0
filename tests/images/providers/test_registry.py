from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from hib_orchestrator.errors import ConfigError, ErrorCode, UnsupportedProvider
from hib_orchestrator.providers import GROUP, Provider, ProviderRegistry, default_registry

BUILT_IN = {"s3", "oss", "cos", "github", "smms", "imgur", "local"}


def test_every_builtin_provider_is_an_entry_point_and_implements_the_protocol() -> None:
    declared = {ep.name for ep in entry_points(group=GROUP)}
    assert declared >= BUILT_IN
    registry = default_registry()
    for name in BUILT_IN:
        cls = registry.get(name)
        assert cls.name == name
        for method in ("list_objects", "iter_bytes", "close"):
            assert callable(getattr(cls, method))


def test_local_provider_instance_satisfies_protocol(tmp_path) -> None:  # type: ignore[no-untyped-def]
    provider = default_registry().create("local", {"path": str(tmp_path)})
    assert isinstance(provider, Provider)


def test_unknown_provider_is_unsupported_with_stable_code() -> None:
    with pytest.raises(UnsupportedProvider) as info:
        default_registry().get("flickr")
    assert info.value.code == ErrorCode.UNSUPPORTED_PROVIDER
    assert "flickr" in str(info.value)


def test_an_empty_group_registers_nothing() -> None:
    registry = ProviderRegistry(group="hib_orchestrator.no_such_group")
    assert registry.names() == []
    with pytest.raises(UnsupportedProvider):
        registry.get("s3")


@pytest.mark.parametrize(
    ("name", "settings", "needle"),
    [
        ("s3", {}, "bucket"),
        ("github", {}, "repo"),
        ("github", {"repo": "a/b", "mode": "svn"}, "mode"),
        ("smms", {}, "token"),
        ("imgur", {}, "refresh_token"),
        ("local", {}, "path"),
        ("cos", {"bucket": "no-appid"}, "name-appid"),
    ],
)
def test_missing_or_bad_settings_are_config_errors(name: str, settings: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        default_registry().create(name, settings)
    assert needle in str(info.value)


def test_fleet_status_lists_every_stand_in_host(standins) -> None:  # type: ignore[no-untyped-def]
    from hib_orchestrator.standins import fleet

    rows = fleet.status(standins.directory)
    assert {r["host"] for r in rows} == set(standins.hosts)
    assert {r["provider"] for r in rows} == BUILT_IN
    assert all(r["endpoint"] for r in rows)
    assert all(len(s) >= 10 for s in fleet.secrets(standins.directory))
