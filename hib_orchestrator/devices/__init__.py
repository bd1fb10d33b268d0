"""Network device config backup: platform profiles (data), filters, masking, safety, fetch.

Public API::

    from hib_orchestrator.devices import BackupRequest, Connection, FetchPolicy, backup_device
    result = backup_device(BackupRequest(Connection("r1", "10.0.0.1", username=..., password=...),
                                         platform="cisco_ios", run_id="42"), ConfigStore(path))
"""

from __future__ import annotations

from hib_orchestrator.devices.backup import BackupRequest, BackupResult, backup_device
from hib_orchestrator.devices.fetch import Connection, FetchPolicy
from hib_orchestrator.devices.profiles import PlatformRegistry, Profile, registry

__all__ = [
    "BackupRequest",
    "BackupResult",
    "Connection",
    "FetchPolicy",
    "PlatformRegistry",
    "Profile",
    "backup_device",
    "registry",
]
