"""The versioned device config store (git): one file per device, one commit per run.

Public API::

    store = ConfigStore(settings.config_store)
    store.path_for("r1")            # "3c/r1.cfg" (traversal-safe)
    store.read("r1", rev=None)      # text at a revision (ConfigError if unknown)
    store.diff("r1")                # unified diff, previous vs latest
    store.versions("r1", limit=10)  # [Version(commit, committed_at, run_id)]
    store.staging(run_id).put(host, text, sha256)  # device workers
    store.commit_run(run_id)        # CommitResult(commit, hosts) under the store lock
"""

from __future__ import annotations

from hib_orchestrator.configstore.paths import check_host_name, host_from_path, path_for
from hib_orchestrator.configstore.staging import StagedConfig, Staging
from hib_orchestrator.configstore.store import CommitResult, ConfigStore, Version

__all__ = [
    "CommitResult",
    "ConfigStore",
    "StagedConfig",
    "Staging",
    "Version",
    "check_host_name",
    "host_from_path",
    "path_for",
]
