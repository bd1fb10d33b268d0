"""Fetch, merge, push: bringing the store and its remote to one history, with bounded retries.

Called by :meth:`~hib_orchestrator.configstore.ConfigStore.commit_run` under the store lock,
after the run's local commit (or with none, to push what earlier runs still owe). Each attempt
fetches the remote's branch, joins it with ours (:func:`~.merge.integrate`), moves the work tree
to the result and pushes fast-forward only. A push that lost a race with another runner
("fetch first", "cannot lock ref") is retried after a jittered, growing pause; an unreachable
remote is tried a few times; an authentication failure is not retried. Whatever happens, the
local commits stay: a failed sync is *owed* and the next run pushes it first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hib_orchestrator.configstore.git import git
from hib_orchestrator.configstore.merge import Conflict, integrate
from hib_orchestrator.configstore.remote import REMOTE_REF, Remote
from hib_orchestrator.errors import RemoteError, RemoteUnreachable

DEFAULT_ATTEMPTS = 6
NETWORK_ATTEMPTS = 3
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 5.0


@dataclass(slots=True)
class SyncResult:
    """What one sync did: ``pushed`` (remote holds our history), or the error and what is owed."""

    pushed: bool
    head: str | None
    attempts: int = 0
    error: RemoteError | None = None
    owed: int = 0
    conflicts: list[Conflict] = field(default_factory=list)


def backoff(attempt: int, *, rng: Callable[[float, float], float] = random.uniform) -> float:
    """Pause before retry ``attempt`` (1-based): doubling from 0.2 s, capped, +-50 % jitter so
    runners that collided do not collide again in step."""
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)) * rng(0.5, 1.5)


def head_of(root: Path) -> str | None:
    """The branch's commit, ``None`` while it has none."""
    proc = git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def sync(
    root: Path,
    remote: Remote,
    run_id: str,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """Make the remote's branch hold every local commit (see the module docstring)."""
    attempts = max(1, attempts)
    conflicts: dict[str, Conflict] = {}
    error: RemoteError | None = None
    upstream = _known_remote(root)  # what the remote had at the last fetch, if it fails now
    tried = 0
    for attempt in range(1, attempts + 1):
        tried = attempt
        try:
            upstream = remote.fetch()
        except RemoteError as err:
            error = err
            if isinstance(err, RemoteUnreachable) and attempt < min(attempts, NETWORK_ATTEMPTS):
                sleep(backoff(attempt))
                continue
            break
        local = head_of(root)
        target, found = integrate(root, local, upstream, run_id) if local else (upstream, [])
        conflicts.update({c.host: c for c in found})
        if target is not None and target != local:
            # The work tree is the last committed copy: move it with the branch.
            git(root, "reset", "-q", "--hard", target)
        if target is None or target == upstream:
            return SyncResult(True, target, tried, conflicts=list(conflicts.values()))
        outcome = remote.push(target)
        if outcome.ok:
            return SyncResult(True, target, tried, conflicts=list(conflicts.values()))
        error = outcome.error
        if not outcome.race:
            break
        if attempt < attempts:
            sleep(backoff(attempt))
    else:
        if error is not None and not isinstance(error, RemoteUnreachable):
            error = RemoteError(
                f"config remote kept moving: push still rejected after {attempts} attempts "
                f"({error.message})"
            )
    head = head_of(root)
    return SyncResult(False, head, tried, error=error, owed=_owed(root, head, upstream),
                      conflicts=list(conflicts.values()))


def _known_remote(root: Path) -> str | None:
    proc = git(root, "rev-parse", "--verify", "--quiet", f"{REMOTE_REF}^{{commit}}", check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def _owed(root: Path, head: str | None, upstream: str | None) -> int:
    if head is None:
        return 0
    span = f"{upstream}..{head}" if upstream else head
    proc = git(root, "rev-list", "--count", "--no-merges", span, check=False)
    return int(proc.stdout.decode().strip() or 0) if proc.returncode == 0 else 0


__all__ = ["DEFAULT_ATTEMPTS", "SyncResult", "backoff", "head_of", "sync"]
