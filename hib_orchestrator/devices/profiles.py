"""Platform profiles: how to back up one kind of device, as data.

A profile is a YAML document shipped in ``hib_orchestrator/devices/profiles/`` (one file a
platform, named for its netmiko ``device_type``; files starting with ``_`` are bases pulled in with
``extends:``). Other packages add or replace platforms through the entry-point group
``hib_orchestrator.platforms``: each entry point loads to a directory path, a YAML file path, or a
callable returning a mapping of ``{name: raw profile dict}``.

Fields (all optional except ``commands``)::

    extends: _cisco_family      # base profile; lists are concatenated (base first)
    aliases: [ios, cisco.ios.ios]
    netmiko_device_type: cisco_ios   # defaults to the profile name
    enable: true                # enter enable mode (uses hib_enable_secret)
    commands: [show running-config]
    section_header: '# {command}'    # put before each output when there are several commands
    prompt: '<regex>'           # a trailing prompt line to drop from raw output
    comment: '<regex>'          # comment lines do not count as significant
    end_marker: '^end$'         # last significant line must match (truncation guard)
    min_lines: 10               # fewer significant lines -> TRUNCATED_OUTPUT
    max_drop_pct: 50            # shrinking more than this vs the last good copy -> TRUNCATED_OUTPUT
    rejections: ['<regex>']     # a command answered with this -> COMMAND_REJECTED
    cleanup: ['<regex>']        # banner lines of the command itself (``Building configuration...``)
    delete_lines: ['<regex>']   # delete-before-storing
    ignore_lines: ['<regex>']   # ignore-when-comparing (volatile lines)
    mask_secrets: ['<regex with a (?P<secret>...) group>']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Self

import yaml

from hib_orchestrator.errors import ConfigError, UnsupportedPlatform

ENTRY_POINT_GROUP = "hib_orchestrator.platforms"
DEFAULT_MIN_LINES = 5
DEFAULT_MAX_DROP_PCT = 50.0

_LIST_FIELDS = ("aliases", "rejections", "cleanup", "delete_lines", "ignore_lines", "mask_secrets")
_KNOWN_FIELDS = {
    *_LIST_FIELDS,
    "extends",
    "netmiko_device_type",
    "enable",
    "commands",
    "section_header",
    "prompt",
    "comment",
    "end_marker",
    "min_lines",
    "max_drop_pct",
}


@dataclass(frozen=True, slots=True)
class Profile:
    """A resolved platform profile (bases merged, regexes compiled lazily by the filters)."""

    name: str
    netmiko_device_type: str
    commands: tuple[str, ...]
    enable: bool = False
    aliases: tuple[str, ...] = ()
    section_header: str | None = None
    prompt: str | None = None
    comment: str | None = None
    end_marker: str | None = None
    min_lines: int = DEFAULT_MIN_LINES
    max_drop_pct: float = DEFAULT_MAX_DROP_PCT
    rejections: tuple[str, ...] = ()
    cleanup: tuple[str, ...] = ()
    delete_lines: tuple[str, ...] = ()
    ignore_lines: tuple[str, ...] = ()
    mask_secrets: tuple[str, ...] = field(default=())

    def with_overrides(self, overrides: Mapping[str, Any]) -> Profile:
        """Return a copy with per-host/group overrides applied (``None`` values are skipped).

        ``commands``, ``ignore_lines``, ``delete_lines`` and ``mask_secrets`` replace the profile's
        lists; ``extra_ignore_lines``/``extra_delete_lines``/``extra_mask_secrets`` add to them.

        Raises:
            ConfigError: a value has the wrong type or a regex does not compile.
        """
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if value is None:
                continue
            if key == "commands":
                changes[key] = _str_tuple(value, key, allow_empty=False)
            elif key in ("ignore_lines", "delete_lines", "mask_secrets"):
                changes[key] = _regex_tuple(value, key)
            elif key.startswith("extra_") and key[6:] in ("ignore_lines", "delete_lines",
                                                           "mask_secrets"):
                base = key[6:]
                changes[base] = changes.get(base, getattr(self, base)) + _regex_tuple(value, key)
            elif key == "min_lines":
                changes[key] = _int(value, key)
            elif key == "max_drop_pct":
                changes[key] = _pct(value, key)
            elif key == "end_marker":
                changes[key] = _regex_tuple([value], key)[0] if value else None
            else:
                raise ConfigError(f"unknown profile override {key!r}")
        return replace(self, **changes)


def _str_tuple(value: Any, key: str, *, allow_empty: bool = True) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of strings")
    result = tuple(value)
    if not result and not allow_empty:
        raise ConfigError(f"{key} must not be empty")
    return result


def _regex_tuple(value: Any, key: str) -> tuple[str, ...]:
    result = _str_tuple(value, key)
    for pattern in result:
        try:
            re.compile(pattern)
        except re.error as err:
            raise ConfigError(f"{key}: bad regular expression {pattern!r}: {err}") from err
    return result


def _int(value: Any, key: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{key} must be an integer, not {value!r}") from err
    if number < 0:
        raise ConfigError(f"{key} must be >= 0, not {number}")
    return number


def _pct(value: Any, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{key} must be a number, not {value!r}") from err
    if not 0 <= number <= 100:
        raise ConfigError(f"{key} must be between 0 and 100, not {number}")
    return number


def _merge(base: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in own.items():
        if key in _LIST_FIELDS and key != "aliases":
            merged[key] = [*base.get(key, []), *(value or [])]
        else:
            merged[key] = value
    return merged


def _build(name: str, raw: Mapping[str, Any], source: str) -> Profile:
    unknown = set(raw) - _KNOWN_FIELDS
    if unknown:
        raise ConfigError(f"{source}: unknown profile field(s) {', '.join(sorted(unknown))}")
    if "commands" not in raw:
        raise ConfigError(f"{source}: profile {name!r} has no commands")
    try:
        return Profile(
            name=name,
            netmiko_device_type=str(raw.get("netmiko_device_type") or name),
            commands=_str_tuple(raw["commands"], "commands", allow_empty=False),
            enable=bool(raw.get("enable", False)),
            aliases=_str_tuple(raw.get("aliases") or [], "aliases"),
            section_header=raw.get("section_header"),
            prompt=raw.get("prompt"),
            comment=raw.get("comment"),
            end_marker=raw.get("end_marker"),
            min_lines=_int(raw.get("min_lines", DEFAULT_MIN_LINES), "min_lines"),
            max_drop_pct=_pct(raw.get("max_drop_pct", DEFAULT_MAX_DROP_PCT), "max_drop_pct"),
            rejections=_regex_tuple(raw.get("rejections") or [], "rejections"),
            cleanup=_regex_tuple(raw.get("cleanup") or [], "cleanup"),
            delete_lines=_regex_tuple(raw.get("delete_lines") or [], "delete_lines"),
            ignore_lines=_regex_tuple(raw.get("ignore_lines") or [], "ignore_lines"),
            mask_secrets=_regex_tuple(raw.get("mask_secrets") or [], "mask_secrets"),
        )
    except ConfigError as err:
        raise ConfigError(f"{source}: {err.message}") from err


def _read_yaml_dir(directory: Any) -> dict[str, dict[str, Any]]:
    raws: dict[str, dict[str, Any]] = {}
    for entry in directory.iterdir():
        if entry.name.endswith((".yaml", ".yml")):
            raws[entry.name.rsplit(".", 1)[0]] = _read_yaml(entry)
    return raws


def _read_yaml(entry: Any) -> dict[str, Any]:
    try:
        data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{entry}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{entry}: a profile must be a mapping")
    return data


def _from_entry_point(loaded: Any) -> dict[str, dict[str, Any]]:
    if callable(loaded):
        loaded = loaded()
    if isinstance(loaded, Mapping):
        return {str(k): dict(v) for k, v in loaded.items()}
    path = Path(str(loaded))
    if path.is_dir():
        return _read_yaml_dir(path)
    return {path.stem: _read_yaml(path)}


class PlatformRegistry:
    """All known profiles by name and alias; build with :meth:`load` (cached: :func:`registry`)."""

    def __init__(self, raws: Mapping[str, Mapping[str, Any]]) -> None:
        self._profiles: dict[str, Profile] = {}
        self._aliases: dict[str, str] = {}
        for name in sorted(raws):
            if name.startswith("_"):
                continue
            profile = _build(name, self._resolve(name, raws, ()), f"platform {name}")
            self._profiles[name] = profile
            for alias in (name, *profile.aliases):
                self._aliases[alias.lower()] = name

    @staticmethod
    def _resolve(
        name: str, raws: Mapping[str, Mapping[str, Any]], seen: tuple[str, ...]
    ) -> dict[str, Any]:
        if name in seen:
            raise ConfigError(f"platform profiles extend each other in a loop: {(*seen, name)}")
        if name not in raws:
            raise ConfigError(f"platform profile {seen[-1]!r} extends unknown {name!r}")
        own = dict(raws[name])
        base_name = own.pop("extends", None)
        if not base_name:
            return own
        return _merge(PlatformRegistry._resolve(str(base_name), raws, (*seen, name)), own)

    @classmethod
    def load(cls, extra: Callable[[], Iterable[metadata.EntryPoint]] | None = None) -> Self:
        """Read the shipped profiles, then those registered under ``hib_orchestrator.platforms``."""
        raws = _read_yaml_dir(resources.files("hib_orchestrator.devices") / "profiles")
        entry_points = extra() if extra else metadata.entry_points(group=ENTRY_POINT_GROUP)
        for entry_point in entry_points:
            raws.update(_from_entry_point(entry_point.load()))
        return cls(raws)

    def names(self) -> list[str]:
        """Platform names (netmiko device types) in alphabetical order."""
        return sorted(self._profiles)

    def get(self, platform: str, *, host: str | None = None) -> Profile:
        """Find a profile by name or alias, case-insensitive.

        ``cisco.ios.ios``-style FQCNs (``ansible_network_os``) are aliases.

        Raises:
            UnsupportedPlatform: nothing registered under that name.
        """
        key = str(platform or "").strip().lower()
        name = self._aliases.get(key) or self._aliases.get(key.rsplit(".", 1)[-1])
        if name is None:
            raise UnsupportedPlatform(
                f"no platform profile for {platform!r} (known: {', '.join(self.names())})",
                host=host,
            )
        return self._profiles[name]


_REGISTRY: PlatformRegistry | None = None


def registry() -> PlatformRegistry:
    """The process-wide registry, loaded once (before Ansible forks, when imported early)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = PlatformRegistry.load()
    return _REGISTRY
