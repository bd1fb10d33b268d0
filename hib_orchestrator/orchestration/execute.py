"""``hib run`` end to end: select, lock, record, run, close, report.

:func:`execute` is what the CLI calls; it returns the ``runs show`` document of the run plus
the process exit code, and never leaves the run ``running``.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from hib_orchestrator.devices.progress import ProgressReader
from hib_orchestrator.errors import ConfigError
from hib_orchestrator.orchestration import ledger
from hib_orchestrator.orchestration.progress import HostProgress, RunProgress
from hib_orchestrator.orchestration.runlock import RunLock
from hib_orchestrator.orchestration.runner import (
    CancelToken,
    RunnerOutcome,
    RunRequest,
    progress_path,
    run_playbook,
)
from hib_orchestrator.orchestration.selection import play_patterns, select_hosts
from hib_orchestrator.recording import open_engine, show_run
from hib_orchestrator.settings import Settings

# push_pending is 0: every backup is safe in the local store; the next run pushes the commit.
EXIT_BY_STATUS = {"successful": 0, "push_pending": 0, "failed": 1, "error": 1, "canceled": 3,
                  "interrupted": 3}


@dataclass(slots=True)
class RunOptions:
    """Everything ``hib run`` was asked for."""

    playbook: Path
    inventory: list[str]
    limit: str | None = None
    platforms: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    forks: int | None = None
    strategy: str | None = None
    timeout: int | None = None
    retries: int | None = None
    extravars: dict[str, Any] = field(default_factory=dict)
    check: bool = False
    idempotency_key: str | None = None
    label: str | None = None


@dataclass(slots=True)
class Hooks:
    """How the caller (the CLI) follows the run."""

    started: Callable[[int, RunProgress], None] = lambda run_id, progress: None
    host_changed: Callable[[HostProgress], None] = lambda hp: None
    note: Callable[[str], None] = lambda message: None
    finished: Callable[[], None] = lambda: None


@dataclass(slots=True)
class RunResult:
    document: dict[str, Any]
    exit_code: int
    reused: bool = False
    empty_selection: bool = False


def _matches_filters(host: Any, platforms: list[str], groups: list[str]) -> bool:
    names = {g.name for g in host.get_groups()}
    if platforms:
        platform = host.vars.get("hib_platform") or host.vars.get("ansible_network_os")
        if platform not in platforms and not names & set(platforms):
            return False
    return not groups or bool(names & set(groups))


def _select(opts: RunOptions) -> list[str]:
    patterns = play_patterns(opts.playbook) or ["all"]
    keep = None
    if opts.platforms or opts.groups:
        def keep(host: Any) -> bool:
            return _matches_filters(host, opts.platforms, opts.groups)
    return select_hosts(opts.inventory, patterns, opts.limit, keep)


def _selects_at_run_time(playbook: Path) -> bool:
    # A rendered policy narrows its pattern with group_by while it runs: the hosts it will
    # back up are not known up front, so the progress bar grows as they appear.
    return any("hib_policy_selected" in p for p in play_patterns(playbook))


@contextmanager
def _signals(cancel: CancelToken, note: Callable[[str], None]) -> Iterator[None]:
    def handler(signum: int, _frame: FrameType | None) -> None:
        count = cancel.request()
        if count == 1:
            note("cancel requested: no new host starts; hosts in flight finish or time out "
                 "(press Ctrl-C again to abort at once)")
        elif count == 2:
            note("aborting: stopping ansible-playbook now")

    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def execute(opts: RunOptions, settings: Settings, hooks: Hooks) -> RunResult:
    """Run a playbook as ``hib run`` does. Raises ConfigError for bad input (exit 2)."""
    if not opts.playbook.is_file():
        raise ConfigError(f"playbook not found: {opts.playbook}")
    engine = open_engine(settings)
    if opts.idempotency_key:
        existing = ledger.run_for_key(engine, opts.idempotency_key)
        if existing is not None:
            return _reuse(engine, existing)
    selected = _select(opts)
    lock = RunLock(settings.home)
    lock.acquire()
    try:
        run_id = ledger.create_run(engine, opts.label or str(opts.playbook))
        lock.note_run(run_id)
        if opts.idempotency_key:
            holder = ledger.claim_key(engine, opts.idempotency_key, run_id)
            if holder != run_id:  # lost a race with another hib using the same key
                ledger.close_run(engine, run_id, "canceled")
                return _reuse(engine, (holder, ledger.run_status(engine, holder)))
        progress = RunProgress()
        if not _selects_at_run_time(opts.playbook):
            progress.expect(selected)
        hooks.started(run_id, progress)
        if not selected:
            ledger.close_run(engine, run_id, "successful")
            hooks.finished()
            return _result(engine, run_id, empty=True)
        outcome = _run(opts, settings, run_id, selected, progress, hooks)
        recorded = ledger.run_status(engine, run_id)
        status = ledger.final_status(recorded, outcome, len(selected))
        if status is not None:
            ledger.close_run(engine, run_id, status)
        hooks.finished()
        return _result(engine, run_id)
    finally:
        lock.release()


def _run(
    opts: RunOptions, settings: Settings, run_id: int, selected: list[str],
    progress: RunProgress, hooks: Hooks,
) -> RunnerOutcome:
    extravars = dict(opts.extravars)
    if opts.timeout is not None:
        extravars["hib_timeout"] = opts.timeout
    if opts.retries is not None:
        extravars["hib_retries"] = opts.retries
    cancel = CancelToken(settings.runner_dir / f"{run_id}.cancel")
    limit = opts.limit
    limit_file = None
    if opts.platforms or opts.groups:
        # Exactly the filtered hosts: Ansible patterns cannot say (p1|p2) & (g1|g2) & limit.
        fd, limit_file = tempfile.mkstemp(prefix=f"hib-limit-{run_id}-", suffix=".txt")
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(selected) + "\n")
        limit = f"@{limit_file}"
    request = RunRequest(playbook=opts.playbook, inventory=opts.inventory, limit=limit,
                         forks=opts.forks, strategy=opts.strategy, check=opts.check,
                         extravars=extravars)

    batch = ProgressReader(progress_path(settings, run_id))

    def on_event(event: dict[str, Any]) -> None:
        # A device batch prints a line per finished device: each of those events is the moment
        # to pick up what it appended to the progress file.
        changed = [progress.apply_device(doc) for doc in batch.new()]
        changed.append(progress.apply(event))
        for hp in changed:
            if hp is not None:
                hooks.host_changed(hp)

    try:
        with _signals(cancel, hooks.note):
            return run_playbook(request, settings, run_id, on_event, cancel)
    finally:
        if limit_file:
            os.unlink(limit_file)
        cancel.cancel_file.unlink(missing_ok=True)


def _result(engine: Any, run_id: int, *, empty: bool = False) -> RunResult:
    with engine.connect() as conn:
        doc = show_run(conn, str(run_id))
    return RunResult(doc, EXIT_BY_STATUS.get(doc["status"], 1), empty_selection=empty)


def _reuse(engine: Any, existing: tuple[int, str]) -> RunResult:
    result = _result(engine, existing[0])
    result.reused = True
    if existing[1] == "running":
        result.exit_code = 0
    return result
