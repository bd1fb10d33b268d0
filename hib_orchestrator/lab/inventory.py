"""The lab's Ansible inventory (YAML, ``all: {children: ...}``).

Groups: ``network`` with one child group per platform (``cisco_ios``, ...), and ``image_hosts``
for provider stand-ins, which another module adds later through :func:`add_image_hosts`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from hib_orchestrator.lab.state import Device


def device_vars(dev: Device, port: int) -> dict[str, Any]:
    """Connection variables of one device host."""
    hostvars: dict[str, Any] = {
        "ansible_host": dev.address,
        "ansible_port": port,
        "ansible_user": dev.username,
        "ansible_password": dev.password,
        "hib_platform": dev.platform,
    }
    if dev.enable_secret:
        hostvars["hib_enable_secret"] = dev.enable_secret
    return hostvars


def build_inventory(devices: list[Device], port: int) -> dict[str, Any]:
    """The inventory document for ``devices`` listening on ``port``."""
    groups: dict[str, dict[str, Any]] = {}
    for dev in devices:
        groups.setdefault(dev.platform, {"hosts": {}})["hosts"][dev.host] = device_vars(dev, port)
    return {"all": {"children": {"network": {"children": groups}}}}


def _write(path: Path, doc: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    text = "# Written by `hib lab up`; rewritten on every start. Holds lab-only credentials.\n"
    tmp.write_text(text + yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_inventory(path: Path, devices: list[Device], port: int) -> Path:
    """Write the device inventory to ``path`` (atomically, mode 600)."""
    _write(path, build_inventory(devices, port))
    return path


def add_image_hosts(path: Path, hosts: Mapping[str, Mapping[str, Any]]) -> Path:
    """Hook for the provider stand-ins: add (or replace) hosts of the ``image_hosts`` group."""
    doc = yaml.safe_load(path.read_text()) or {"all": {"children": {}}}
    children = doc.setdefault("all", {}).setdefault("children", {})
    group = children.setdefault("image_hosts", {})
    group.setdefault("hosts", {}).update({name: dict(v) for name, v in hosts.items()})
    _write(path, doc)
    return path
