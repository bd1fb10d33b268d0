"""hib-orchestrator: backup orchestration for fleets, built on Ansible.

The package is the engine; the Ansible collection in ``plugins/`` and the ``hib`` CLI are thin
adapters over it. Public entry points::

    from hib_orchestrator import Settings, load_settings, HibError
"""

from __future__ import annotations

from hib_orchestrator.errors import ErrorCode, HibError
from hib_orchestrator.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = ["ErrorCode", "HibError", "Settings", "__version__", "load_settings"]
