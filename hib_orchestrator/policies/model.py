"""The policy file: strict validation that names the file, line and key of every mistake.

A policy says *what* to back up; :func:`~hib_orchestrator.policies.render.render_policy` turns it
into a playbook that uses only the collection's modules::

    policies:
      nightly-core:
        hosts: "network:&core"
        platforms: [cisco_ios, arista_eos]
        where: {hib_status: online}
        collect: [configs]
        forks: 50
        timeout: 60
        retries: 2
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hib_orchestrator.errors import ConfigError

COLLECT_KINDS = ("configs", "images")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")


@dataclass(frozen=True, slots=True)
class Retention:
    """Image snapshot retention, as ``hib prune`` understands it."""

    keep_last: int | None = None
    keep_daily: int | None = None
    keep_weekly: int | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """One named backup policy."""

    name: str
    hosts: str
    platforms: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    where: dict[str, Any] = field(default_factory=dict)
    collect: tuple[str, ...] = ("configs",)
    forks: int | None = None
    timeout: int | None = None
    retries: int | None = None
    check: bool = False
    schedule: str | None = None
    retention: Retention | None = None


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """All policies of one file, by name."""

    path: Path
    policies: dict[str, Policy]

    def get(self, name: str) -> Policy:
        """The policy called ``name``; an unknown name is a :class:`ConfigError` (exit 2)."""
        try:
            return self.policies[name]
        except KeyError:
            known = ", ".join(sorted(self.policies)) or "none"
            raise ConfigError(f"{self.path}: no policy named {name!r} (known: {known})") from None


class _Checker:
    """Walks composed YAML nodes so every error can say ``file:line: key``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}:{node.start_mark.line + 1}: {key}: {problem}")

    def mapping(self, node: yaml.Node, key: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, "expected a mapping")
        pairs = []
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise self.fail(k, key, "keys must be plain strings")
            pairs.append((k, v))
        return pairs

    def scalar(self, node: yaml.Node, key: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, key, "expected a single value")
        return yaml.safe_load(yaml.serialize(node))

    def string(self, node: yaml.Node, key: str) -> str:
        value = self.scalar(node, key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, key, f"expected a non-empty string, got {value!r}")
        return value

    def integer(self, node: yaml.Node, key: str, low: int, high: int) -> int:
        value = self.scalar(node, key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(node, key, f"expected an integer from {low} to {high}, got {value!r}")
        return value

    def boolean(self, node: yaml.Node, key: str) -> bool:
        value = self.scalar(node, key)
        if not isinstance(value, bool):
            raise self.fail(node, key, f"expected true or false, got {value!r}")
        return value

    def strings(self, node: yaml.Node, key: str) -> tuple[str, ...]:
        if isinstance(node, yaml.ScalarNode):
            return (self.string(node, key),)
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(node, key, "expected a non-empty list of strings")
        return tuple(self.string(item, key) for item in node.value)


def _policy(ck: _Checker, name: str, node: yaml.Node) -> Policy:
    base = f"policies.{name}"
    fields: dict[str, Any] = {}
    handlers: dict[str, Callable[[yaml.Node, str], Any]] = {
        "hosts": ck.string,
        "platforms": ck.strings,
        "groups": ck.strings,
        "where": lambda n, k: _where(ck, n, k),
        "collect": lambda n, k: _collect(ck, n, k),
        "forks": lambda n, k: ck.integer(n, k, 1, 10_000),
        "timeout": lambda n, k: ck.integer(n, k, 1, 86_400),
        "retries": lambda n, k: ck.integer(n, k, 0, 100),
        "check": ck.boolean,
        "schedule": lambda n, k: _schedule(ck, n, k),
        "retention": lambda n, k: _retention(ck, n, k),
    }
    for key_node, value in ck.mapping(node, base):
        key = key_node.value
        if key not in handlers:
            allowed = ", ".join(sorted(handlers))
            raise ck.fail(key_node, f"{base}.{key}", f"unknown key (allowed: {allowed})")
        fields[key] = handlers[key](value, f"{base}.{key}")
    if "hosts" not in fields:
        raise ck.fail(node, base, "missing required key 'hosts'")
    if fields.get("retention") and "images" not in fields.get("collect", ("configs",)):
        raise ck.fail(node, f"{base}.retention", "only meaningful with collect: [images]")
    return Policy(name=name, **fields)


def _where(ck: _Checker, node: yaml.Node, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in ck.mapping(node, key):
        if not _VAR.match(k.value):
            raise ck.fail(k, f"{key}.{k.value}", "not a valid host variable name")
        out[k.value] = ck.scalar(v, f"{key}.{k.value}")
    return out


def _collect(ck: _Checker, node: yaml.Node, key: str) -> tuple[str, ...]:
    kinds = ck.strings(node, key)
    for kind in kinds:
        if kind not in COLLECT_KINDS:
            raise ck.fail(node, key, f"unknown kind {kind!r} (allowed: configs, images)")
    return tuple(dict.fromkeys(kinds))


def _schedule(ck: _Checker, node: yaml.Node, key: str) -> str:
    text = ck.string(node, key)
    parts = text.split()
    if text.startswith("@"):
        return text
    if len(parts) != 5 or not all(_CRON_FIELD.match(p) for p in parts):
        raise ck.fail(node, key, f"expected a 5-field cron expression, got {text!r}")
    return text


def _retention(ck: _Checker, node: yaml.Node, key: str) -> Retention:
    values: dict[str, int] = {}
    for k, v in ck.mapping(node, key):
        if k.value not in ("keep_last", "keep_daily", "keep_weekly"):
            allowed = "keep_daily, keep_last, keep_weekly"
            raise ck.fail(k, f"{key}.{k.value}", f"unknown key (allowed: {allowed})")
        values[k.value] = ck.integer(v, f"{key}.{k.value}", 0, 100_000)
    return Retention(**values)


def load_policies(path: Path) -> PolicyFile:
    """Read and strictly validate a policy file.

    Raises:
        ConfigError: missing file, YAML syntax error, unknown key or bad value; the message
            names the file, the line and the key.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: policy file not found (set HIB_POLICY_FILE)") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read policy file: {err.strerror}") from err
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}") from err
    ck = _Checker(path)
    if root is None:
        raise ConfigError(f"{path}: empty policy file (expected a 'policies:' mapping)")
    policies: dict[str, Policy] = {}
    for key_node, value in ck.mapping(root, "(top level)"):
        if key_node.value != "policies":
            raise ck.fail(key_node, key_node.value, "unknown key (allowed: policies)")
        for name_node, body in ck.mapping(value, "policies"):
            name = name_node.value
            if not _NAME.match(name):
                raise ck.fail(name_node, f"policies.{name}", "names use letters, digits, - _ .")
            if name in policies:
                raise ck.fail(name_node, f"policies.{name}", "defined twice")
            policies[name] = _policy(ck, name, body)
    return PolicyFile(path=path, policies=policies)
