# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Action plugin of ``hib.orchestrator.config_commit``: the run's one commit of staged configs.

Use it as the last task of the play with ``run_once: true``. It takes the store lock (waiting up
to ``lock_timeout`` seconds for a concurrent run, then ``STORE_LOCKED``), moves this run's staged
configs into the git store atomically and makes one commit with the ``Hib-Run: <id>`` trailer, or
none when nothing changed. With ``HIB_CONFIG_REMOTE`` it then syncs with the remote; a failed
push is a warning (``push_pending: true``, ``error_code`` ``REMOTE_UNREACHABLE``/``PUSH_FAILED``),
not a failure: the commit is safe locally and the next run pushes it.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

try:
    from hib_orchestrator.configstore import ConfigStore
    from hib_orchestrator.configstore.store import DEFAULT_GC_EVERY, DEFAULT_LOCK_TIMEOUT
    from hib_orchestrator.configstore.sync import DEFAULT_ATTEMPTS
    from hib_orchestrator.devices.runctx import ensure_run_id
    from hib_orchestrator.errors import HibError
    from hib_orchestrator.settings import load_settings

    IMPORT_ERROR: Exception | None = None
    ensure_run_id()
except ImportError as _err:  # pragma: no cover - reported as a task failure
    IMPORT_ERROR = _err

ARGUMENT_SPEC: dict[str, Any] = {
    "lock_timeout": {"type": "float"},
    "gc_every": {"type": "int"},
    "push_attempts": {"type": "int"},
}


class ActionModule(ActionBase):
    """Commit this run's staged device configs."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Make the run commit and report ``commit`` and ``hosts``."""
        task_vars = task_vars or {}
        result: dict[str, Any] = {"hib_kind": "commit", "changed": False, "commit": None,
                                  "hosts": []}
        if IMPORT_ERROR is not None:
            return {**result, "failed": True, "error_code": "INTERNAL",
                    "msg": f"hib_orchestrator is not importable: {IMPORT_ERROR}"}
        try:
            _, args = self.validate_argument_spec(ARGUMENT_SPEC)
        except AnsibleActionFail as err:
            return {**result, "failed": True, "error_code": "BAD_CONFIG",
                    "msg": " ".join(str(err.message).split())}
        run_id = ensure_run_id()
        result["run_id"] = run_id
        if self._task.check_mode:
            return {**result, "msg": "check mode: nothing committed"}
        lock_timeout = args.get("lock_timeout")
        if lock_timeout is None:
            lock_timeout = task_vars.get("hib_store_lock_timeout", DEFAULT_LOCK_TIMEOUT)
        try:
            settings = load_settings()
            store = ConfigStore(
                settings.config_store,
                lock_timeout=float(self._templar.template(lock_timeout)),
                gc_every=int(args.get("gc_every") or DEFAULT_GC_EVERY),
                remote=settings.config_remote,
                push_attempts=int(args.get("push_attempts") or DEFAULT_ATTEMPTS),
            )
            outcome = store.commit_run(run_id)
        except (HibError, ValueError) as err:
            code = str(err.code) if isinstance(err, HibError) else "BAD_CONFIG"
            message = err.message if isinstance(err, HibError) else str(err)
            return {**result, "failed": True, "error_code": code, "msg": message}
        result["stale_hosts"] = outcome.stale_hosts  # newer copies committed by another run
        result["host_commits"] = outcome.held  # already committed: the commit holding their text
        msg = "no device config changed: no commit"
        if outcome.commit is not None:
            result.update(changed=True, commit=outcome.commit, hosts=outcome.hosts)
            msg = f"committed {len(outcome.hosts)} device config(s) in {outcome.commit[:12]}"
        if outcome.pushed is None:
            return {**result, "msg": msg}
        result.update(push_pending=outcome.push_pending, head=outcome.head, owed=outcome.owed,
                      conflicts=[c.to_dict() for c in outcome.conflicts])
        if outcome.conflicts:
            msg += (f"; {len(outcome.conflicts)} device(s) also changed by another runner: "
                    "newest copy kept")
        if outcome.push_error is not None:
            # A warning, not a failure: every commit is safe locally and the next run pushes it.
            error = outcome.push_error
            result.update(error_code=str(error.code), push_error=error.message,
                          warnings=[f"{error.code}: {error.message}; {outcome.owed} commit(s) "
                                    "kept locally, the next run pushes them"])
            return {**result, "msg": f"{msg}; push pending ({error.code})"}
        return {**result, "msg": f"{msg}; pushed"}
