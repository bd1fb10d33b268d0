"""The device config store: a git repository, one file per device, one commit per run.

Invariants that keep it fast and safe at 10k devices / 100k commits:

* the work tree only changes under the store lock, inside :meth:`ConfigStore.commit_run`, by
  atomic renames; so the work-tree file *is* the last committed copy and reading it
  (:meth:`ConfigStore.current`) needs no git process and no history walk;
* device workers never touch the work tree: they stage into the run's staging area;
* ``git gc --auto`` runs in the foreground every ``gc_every`` commits, never detached.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hib_orchestrator.configstore.files import store_lock, write_atomic
from hib_orchestrator.configstore.git import git
from hib_orchestrator.configstore.paths import host_from_path, path_for
from hib_orchestrator.configstore.staging import StagedConfig, Staging, clean_stale
from hib_orchestrator.errors import ConfigError, StoreError

DEFAULT_LOCK_TIMEOUT = 60.0
DEFAULT_GC_EVERY = 100
TRAILER = "Hib-Run"


@dataclass(frozen=True, slots=True)
class Version:
    """One committed version of a device config."""

    commit: str
    committed_at: datetime
    run_id: str | None


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What :meth:`ConfigStore.commit_run` did: the commit (``None`` if nothing changed)."""

    commit: str | None
    hosts: list[str]
    stale_hosts: list[str] = field(default_factory=list)


class ConfigStore:
    """A git-backed store of device configs rooted at ``root``.

    Args:
        root: the repository directory (``settings.config_store``); created on first write.
        lock_timeout: seconds a commit waits for another run's lock before ``STORE_ERROR``.
        gc_every: run ``git gc --auto`` after every this many commits.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        gc_every: int = DEFAULT_GC_EVERY,
    ) -> None:
        self.root = Path(root)
        self.lock_timeout = lock_timeout
        self.gc_every = max(1, gc_every)

    @property
    def _hib_dir(self) -> Path:
        return self.root / ".git" / "hib"

    # -- paths and reads -------------------------------------------------------------------
    @staticmethod
    def path_for(host: str) -> str:
        """Relative path of ``host``'s file in the repository (traversal-safe).

        Raises:
            ConfigError: the host name cannot name a file.
        """
        return path_for(host)

    def current(self, host: str) -> str | None:
        """The last committed config of ``host`` (from the work tree), or ``None``."""
        try:
            return (self.root / path_for(host)).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as err:
            raise StoreError(f"cannot read the stored config: {err}", host=host) from err

    def read(self, host: str, rev: str | None = None) -> str:
        """The config of ``host`` at ``rev`` (default: the latest commit).

        Raises:
            ConfigError: unknown host, or no such revision for it.
        """
        path = path_for(host)
        if not (self.root / ".git").is_dir():
            raise ConfigError(f"no config store at {self.root}")
        proc = git(self.root, "show", f"{rev or 'HEAD'}:{path}", check=False)
        if proc.returncode != 0:
            raise ConfigError(f"no stored config for {host!r} at {rev or 'the latest commit'}")
        return proc.stdout.decode("utf-8", errors="replace")

    def versions(self, host: str, limit: int | None = None) -> list[Version]:
        """Commits that changed ``host``'s config, newest first (``git log -- path``).

        The run database is the index; this is the fallback and for ``hib history`` checks.
        """
        path = path_for(host)
        if not (self.root / ".git").is_dir():
            return []
        fmt = f"%H%x1f%cI%x1f%(trailers:key={TRAILER},valueonly,separator=%x2C)%x1e"
        args = ["log", f"--format={fmt}", "--no-renames"]
        if limit is not None:
            args.append(f"-n{int(limit)}")
        proc = git(self.root, *args, "--", path, check=False)
        if proc.returncode != 0:
            return []  # unborn HEAD: no commits yet
        versions = []
        for record in proc.stdout.decode().split("\x1e"):
            fields = record.strip("\n").split("\x1f")
            if len(fields) == 3:
                run_id = fields[2].strip() or None
                versions.append(Version(fields[0], datetime.fromisoformat(fields[1]), run_id))
        return versions

    def diff(self, host: str, rev_a: str | None = None, rev_b: str | None = None) -> str:
        """Unified diff of ``host``'s config between two revisions.

        Defaults: ``rev_b`` the latest version, ``rev_a`` the one before it (an empty text when
        there is only one). Raises :class:`ConfigError` for an unknown host or revision.
        """
        if rev_a is None or rev_b is None:
            versions = self.versions(host, limit=2)
            if not versions:
                raise ConfigError(f"no stored config for {host!r}")
            rev_b = rev_b or versions[0].commit
            if rev_a is None:
                rev_a = versions[1].commit if len(versions) > 1 else None
        before = self.read(host, rev_a) if rev_a else ""
        after = self.read(host, rev_b)
        path = path_for(host)
        return "".join(difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=f"a/{path}@{(rev_a or 'empty')[:12]}", tofile=f"b/{path}@{rev_b[:12]}",
        ))

    # -- writes -----------------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the repository if missing; safe when many workers race to do it."""
        if (self.root / ".git").is_dir():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root.parent / f".{self.root.name}.init-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            git(tmp, "init", "-q", "-b", "main")
            with contextlib.suppress(OSError):  # another worker won the race: fine
                os.rename(tmp / ".git", self.root / ".git")
        finally:
            git_leftover = tmp / ".git"
            if git_leftover.exists():
                shutil.rmtree(git_leftover, ignore_errors=True)
            with contextlib.suppress(OSError):
                tmp.rmdir()
        if not (self.root / ".git").is_dir():
            raise StoreError(f"cannot create the config store at {self.root}")

    def staging(self, run_id: str, owner_pid: int | None = None) -> Staging:
        """The staging area of run ``run_id`` (creates the repository if needed)."""
        self.ensure()
        return Staging(self._hib_dir / "staging", run_id, owner_pid)

    def commit_run(self, run_id: str) -> CommitResult:
        """Move the run's staged configs in and make the run's one commit (or none).

        Only files whose content differs from the last commit end up in it; the message lists the
        hosts and ends with the ``Hib-Run: <id>`` trailer. An entry staged against a stored copy
        that another run has replaced since is skipped (``stale_hosts``): committing it would put
        older device state over newer. Stale staging areas of dead runs are removed too.

        Raises:
            StoreError: the lock was not free in time, or git failed.
        """
        self.ensure()
        staging = Staging(self._hib_dir / "staging", run_id)
        with store_lock(self._hib_dir / "lock", self.lock_timeout):
            clean_stale(staging.root, keep=run_id)
            entries, stale = [], []
            for entry in staging.entries():
                if entry.base_sha256 is not None and entry.base_sha256 != self._stored_sha(entry):
                    stale.append(entry.host)
                    continue
                entries.append(entry)
            _move_in(self.root, entries)
            if entries:
                paths = b"\0".join(e.path.encode() for e in entries) + b"\0"
                git(self.root, "add", "--pathspec-from-file=-", "--pathspec-file-nul",
                    input_bytes=paths)
            changed = [
                p for p in git(self.root, "diff", "--cached", "--name-only", "-z", "--no-renames")
                .stdout.decode().split("\0") if p
            ]
            hosts = sorted({h for h in map(host_from_path, changed) if h})
            commit = None
            if changed:
                git(self.root, "commit", "-q", "--no-verify", "-F", "-",
                    input_bytes=_message(run_id, hosts, len(changed)).encode())
                commit = git(self.root, "rev-parse", "HEAD").stdout.decode().strip()
                self._maybe_gc()
            staging.remove()
        return CommitResult(commit=commit, hosts=hosts, stale_hosts=stale)

    def _stored_sha(self, entry: StagedConfig) -> str:
        try:
            return hashlib.sha256((self.root / entry.path).read_bytes()).hexdigest()
        except FileNotFoundError:
            return ""

    def _maybe_gc(self) -> None:
        counter = self._hib_dir / "commits"
        try:
            count = int(counter.read_text() or 0) + 1
        except (OSError, ValueError):
            count = 1
        write_atomic(counter, str(count).encode())
        if count % self.gc_every == 0:
            git(self.root, "gc", "--auto", "--quiet", extra_config=("-c", "gc.auto=6700"),
                check=False)


def _move_in(root: Path, entries: list[StagedConfig]) -> None:
    """Rename staged files into the work tree (same filesystem: atomic, no copy).

    Staged files were fsynced when written; one fsync per touched directory makes the renames
    durable, instead of a copy + fsync per file (10k devices: seconds, not a minute).
    """
    touched: set[Path] = set()
    for entry in entries:
        target = root / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(entry.file, target)
        touched.add(target.parent)
    for directory in touched:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _message(run_id: str, hosts: list[str], files: int) -> str:
    shown = hosts[:200]
    lines = [f"hib run {run_id}: {len(hosts)} device config(s) changed", ""]
    lines += [f"- {host}" for host in shown]
    if len(hosts) > len(shown):
        lines.append(f"- ... and {len(hosts) - len(shown)} more")
    if files > len(hosts):
        lines.append(f"({files - len(hosts)} other file(s) from an interrupted run)")
    return "\n".join([*lines, "", f"{TRAILER}: {run_id}", ""])
