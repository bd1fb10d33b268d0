"""Turn a device into the text its config command prints, and list the secrets that text holds.

A device's documents are rendered once per (device, document, mutation count) and cached with
placeholders for the volatile values; each fetch only fills those in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

from hib_orchestrator.lab import render_cisco, render_other
from hib_orchestrator.lab.model import DeviceModel, SecretBox, Volatile, build, fill
from hib_orchestrator.lab.state import Device, LabSpec

Renderer = Callable[[DeviceModel, SecretBox, Volatile], list[str]]

RENDERERS: dict[str, Renderer] = {
    "cisco_ios": render_cisco.render_ios,
    "cisco_nxos": render_cisco.render_nxos,
    "cisco_xr": render_cisco.render_xr,
    "arista_eos": render_cisco.render_eos,
    "juniper_junos": render_other.render_junos,
    "huawei": render_other.render_vrp,
    "hp_comware": render_other.render_comware,
}

LINUX_FILES = ("/etc/hostname", "/etc/hosts", "/etc/ssh/sshd_config")
TEMPLATE_CACHE = 4096


def render_lines(
    spec: LabSpec, dev: Device, doc: str, mutations: int
) -> tuple[list[str], SecretBox]:
    """Lines of document ``doc`` (``running`` or a linux path), with volatile placeholders,
    and the secrets it used."""
    model = build(spec.seed, dev.index, dev.host, dev.platform, mutations)
    box = SecretBox(spec.seed, dev.index)
    if dev.platform == "linux":
        return render_other.render_linux(model, box, Volatile(), doc), box
    return RENDERERS[dev.platform](model, box, Volatile()), box


@lru_cache(maxsize=TEMPLATE_CACHE)
def template(spec: LabSpec, dev: Device, doc: str, mutations: int) -> str:
    """The document with volatile placeholders (cached)."""
    return "\n".join(render_lines(spec, dev, doc, mutations)[0])


def render(spec: LabSpec, dev: Device, doc: str, mutations: int, now: datetime,
           fetch_no: int) -> str:
    """The document as the device prints it on fetch number ``fetch_no`` at ``now``."""
    return fill(template(spec, dev, doc, mutations), now, fetch_no)


def planted_secrets(spec: LabSpec, dev: Device) -> list[str]:
    """Every secret string in this device's configuration documents (any mutation count)."""
    docs = LINUX_FILES if dev.platform == "linux" else ("running",)
    found: dict[str, str] = {}
    for doc in docs:
        found.update(render_lines(spec, dev, doc, 0)[1].used)
    return list(found.values())
