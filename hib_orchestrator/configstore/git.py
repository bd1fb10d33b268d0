"""The git CLI, called with a fixed identity and no surprises (no hooks, no background gc)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from hib_orchestrator.errors import StoreError

# Fixed identity and no automatic maintenance: gc runs only when the store asks for it, in the
# foreground, so no git process outlives a run.
_GIT_CONFIG = (
    "-c", "user.name=hib",
    "-c", "user.email=hib@localhost",
    "-c", "core.quotepath=off",
    "-c", "gc.auto=0",
    "-c", "gc.autoDetach=false",
    "-c", "maintenance.auto=false",
    "-c", "commit.gpgsign=false",
    "-c", "core.hooksPath=/dev/null",
)


def git(
    root: Path,
    *args: str,
    input_bytes: bytes | None = None,
    check: bool = True,
    extra_config: Sequence[str] = (),
    timeout: float | None = None,
    env_extra: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git <args>`` in ``root`` and return the completed process.

    ``timeout`` bounds commands that talk to a remote; a command that runs out of time comes back
    as a failed process (return code 124, like ``timeout(1)``) rather than an exception.

    Raises:
        StoreError: git is missing, or exited non-zero while ``check`` is set.
    """
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    # A store inside another repository (or a GIT_DIR from the environment) must not leak in.
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        env.pop(name, None)
    env.update(env_extra or {})
    cmd = ["git", *_GIT_CONFIG, *extra_config, *args]
    try:
        proc = subprocess.run(cmd, cwd=root, input=input_bytes, capture_output=True, env=env,
                              check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, 124, b"",
                                           f"fatal: timed out after {timeout:g}s".encode())
    except OSError as err:
        raise StoreError(f"cannot run git in {root}: {err}") from err
    if check and proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise StoreError(
            f"git {args[0]} failed in {root}: {detail[-1] if detail else proc.returncode}"
        )
    return proc
