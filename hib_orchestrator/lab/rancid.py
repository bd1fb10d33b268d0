"""RANCID login files for the lab: a ``.cloginrc`` and an ssh wrapper, for ``clogin`` & co.

``clogin`` glues the words of ``sshcmd`` together without spaces, so ssh options (the lab's host
key is new on every start) live in a small wrapper script instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from hib_orchestrator.lab.state import Device

SSH_WRAPPER = """#!/bin/sh
# Written by hib lab: ssh to lab devices without host-key prompts.
exec ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$@"
"""


def write_cloginrc(devices: list[Device], port: int, directory: Path) -> Path:
    """Write ``cloginrc`` (mode 600) and ``lab-ssh`` into ``directory``; return the cloginrc.

    Every device gets ``user``, ``password`` (plus the enable secret where there is one),
    ``method ssh:PORT`` and ``sshcmd``, keyed by its address.
    """
    directory.mkdir(parents=True, exist_ok=True)
    wrapper = directory / "lab-ssh"
    wrapper.write_text(SSH_WRAPPER)
    wrapper.chmod(0o755)
    lines = ["# Written by `hib lab cloginrc`; lab-only credentials."]
    for dev in devices:
        secret = f" {dev.enable_secret}" if dev.enable_secret else ""
        lines += [
            f"# {dev.host} ({dev.platform})",
            f"add user {dev.address} {dev.username}",
            f"add password {dev.address} {dev.password}{secret}",
            f"add method {dev.address} ssh:{port}",
            f"add sshcmd {dev.address} {wrapper}",
        ]
    rc = directory / "cloginrc"
    tmp = rc.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    os.replace(tmp, rc)
    return rc
