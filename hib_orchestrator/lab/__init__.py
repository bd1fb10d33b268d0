"""``hib lab``: a simulated fleet of SSH network devices on loopback addresses.

Modules: :mod:`.platforms` (CLI behaviour per platform, as data), :mod:`.model` and
:mod:`.render` (deterministic configs with secrets and volatile lines), :mod:`.emulator`
(the CLI state machine), :mod:`.server` (asyncssh sessions), :mod:`.fleet` (listeners and
faults), :mod:`.daemon` (the background process), :mod:`.control` (its socket protocol),
:mod:`.inventory` and :mod:`.manager` (up/down/status/mutate/fault/secrets for the CLI and
other code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hib_orchestrator.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from hib_orchestrator.lab.inventory import add_image_hosts
    from hib_orchestrator.lab.manager import (
        down,
        inventory_path,
        mutate,
        secrets,
        set_fault,
        status,
        up,
    )
    from hib_orchestrator.lab.state import LabSpec

# Imported on first use: every `hib` command loads the CLI module of `hib lab`, and the
# manager pulls in yaml, the inventory writer and the image-host stand-ins.
_EXPORTS = {
    "LabSpec": "hib_orchestrator.lab.state",
    "add_image_hosts": "hib_orchestrator.lab.inventory",
    **{name: "hib_orchestrator.lab.manager"
       for name in ("down", "inventory_path", "mutate", "secrets", "set_fault", "status", "up")},
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = ["LabSpec", "add_image_hosts", "down", "inventory_path", "mutate", "secrets",
           "set_fault", "status", "up"]
