"""Which hosts a run will touch, resolved with Ansible's own inventory code.

Used before a run starts: to fail fast on a malformed inventory (exit 2), to size the progress
bar, and to turn an empty selection into a clear message instead of ansible-runner's bare
``failed`` with no stats.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from hib_orchestrator.errors import ConfigError

_PLUGIN_FAILURE = re.compile(r"Failed to parse inventory with '([\w.]+)' plugin: (.+)")


def _reason(warnings: str, err: Exception) -> str:
    """The most telling parser complaint: YAML's for YAML files, else the first one."""
    found = dict(reversed(_PLUGIN_FAILURE.findall(warnings)))
    source = re.search(r"inventory source (\S+)", str(err))
    where = source.group(1) if source else ""
    for plugin in ("yaml", "auto", "ini", "toml"):
        if plugin in found and (plugin != "ini" or not where.endswith((".yml", ".yaml"))):
            return f"{where}: {found[plugin].strip()}"
    lines = str(err).strip().splitlines()
    return lines[0] if lines else repr(err)


def play_patterns(playbook: Path) -> list[str]:
    """The ``hosts:`` pattern of each play (imports and dynamic groups are ignored)."""
    try:
        plays = yaml.safe_load(playbook.read_text(encoding="utf-8")) or []
    except FileNotFoundError:
        raise ConfigError(f"{playbook}: playbook not found") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{playbook}: not valid YAML: {err}") from err
    if not isinstance(plays, list):
        raise ConfigError(f"{playbook}: a playbook is a list of plays")
    out = []
    for play in plays:
        if isinstance(play, dict) and isinstance(play.get("hosts"), str):
            out.append(play["hosts"])
    return out


def yaml_before_auto(plugins: list[str]) -> list[str]:
    """``plugins`` with ``yaml`` tried before ``auto`` (as hib's ansible.cfg orders them).

    ``auto`` loads a YAML file to look for a ``plugin:`` key and ``yaml`` then parses a deep copy
    of it: for a plain 1,000-host inventory that is most of the parse time. ``yaml`` refuses
    plugin configs, which then still reach ``auto``.
    """
    names = list(plugins)
    short = [name.rsplit(".", 1)[-1] for name in names]
    if "yaml" in short and "auto" in short and short.index("auto") < short.index("yaml"):
        names.insert(short.index("auto"), names.pop(short.index("yaml")))
    return names


def select_hosts(
    inventory: Iterable[str],
    patterns: Iterable[str],
    limit: str | None,
    keep: Callable[[Any], bool] | None = None,
) -> list[str]:
    """Hosts matched by any of ``patterns`` within ``limit`` (and ``keep``, given an Ansible
    ``Host``), in pattern order.

    Raises:
        ConfigError: an inventory source is missing or cannot be parsed.
    """
    from ansible import constants as C
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    from hib_orchestrator.orchestration.runner import init_ansible_plugins

    sources = list(inventory)
    for source in sources:
        if "," not in source and not Path(source).exists():
            raise ConfigError(f"inventory not found: {source}")
    init_ansible_plugins()
    saved = C.INVENTORY_ANY_UNPARSED_IS_FAILED, C.INVENTORY_ENABLED
    C.INVENTORY_ANY_UNPARSED_IS_FAILED = True  # a broken inventory must stop the run
    C.INVENTORY_ENABLED = yaml_before_auto(C.INVENTORY_ENABLED)
    noise = io.StringIO()  # Ansible's multi-paragraph warnings; we keep the one line that matters
    try:
        with contextlib.redirect_stderr(noise), contextlib.redirect_stdout(noise):
            manager = InventoryManager(loader=DataLoader(), sources=sources)
    except AnsibleError as err:
        raise ConfigError(f"inventory cannot be parsed: {_reason(noise.getvalue(), err)}") from err
    finally:
        C.INVENTORY_ANY_UNPARSED_IS_FAILED, C.INVENTORY_ENABLED = saved
    if limit:
        manager.subset(limit)
    seen: dict[str, None] = {}
    for pattern in patterns:
        for host in manager.get_hosts(pattern):
            if keep is None or keep(host):
                seen.setdefault(host.name, None)
    return list(seen)
