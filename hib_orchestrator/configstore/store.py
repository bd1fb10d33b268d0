"""The device config store: a git repository, one file per device, one commit per run.

Invariants that keep it fast and safe at 10k devices / 100k commits:

* the work tree only changes under the store lock, inside :meth:`ConfigStore.commit_run`, by
  atomic renames; so the work-tree file *is* the last committed copy and reading it
  (:meth:`ConfigStore.current`) needs no git process and no history walk;
* device workers never touch the work tree: they stage into the run's staging area;
* ``git gc --auto`` runs in the foreground every ``gc_every`` commits, never detached.

With a remote (``HIB_CONFIG_REMOTE``), a new store starts from the remote's branch and each
:meth:`ConfigStore.commit_run` ends with a sync (:mod:`.sync`): the run's commit is merged with
the remote's history and pushed, or kept locally and owed (``push_pending``) when that fails.
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
from hib_orchestrator.configstore.merge import Conflict
from hib_orchestrator.configstore.paths import host_from_path, path_for
from hib_orchestrator.configstore.remote import Remote
from hib_orchestrator.configstore.staging import StagedConfig, Staging, clean_stale
from hib_orchestrator.configstore.sync import DEFAULT_ATTEMPTS, head_of, sync
from hib_orchestrator.errors import ConfigError, HibError, RemoteError, StoreError, StoreLocked

DEFAULT_LOCK_TIMEOUT = 60.0
DEFAULT_GC_EVERY = 100
TRAILER = "Hib-Run"
#: ``remote`` default of :class:`ConfigStore`: take ``HIB_CONFIG_REMOTE`` from the environment,
#: as :func:`hib_orchestrator.settings.load_settings` does, so every process that opens the store
#: (device session workers included) agrees on it without passing it along.
FROM_ENVIRONMENT = "<HIB_CONFIG_REMOTE>"


@dataclass(frozen=True, slots=True)
class Version:
    """One committed version of a device config."""

    commit: str
    committed_at: datetime
    run_id: str | None


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What :meth:`ConfigStore.commit_run` did: the commit (``None`` if nothing changed).

    ``held`` maps staged hosts whose text is already committed (by another run, or by an earlier
    one of theirs) to the commit that holds it. With a remote: ``pushed`` (``None``: no remote),
    ``push_error`` and ``owed`` (local commits the remote lacks) when the push failed, and
    ``conflicts`` resolved by keeping the newest copy.
    """

    commit: str | None
    hosts: list[str]
    stale_hosts: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)
    pushed: bool | None = None
    push_error: HibError | None = None
    owed: int = 0
    head: str | None = None
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def push_pending(self) -> bool:
        """True when commits are kept locally for a later push."""
        return self.pushed is False


class ConfigStore:
    """A git-backed store of device configs rooted at ``root``.

    Args:
        root: the repository directory (``settings.config_store``); created on first write.
        lock_timeout: seconds a commit waits for another run's lock before ``STORE_LOCKED``.
        gc_every: run ``git gc --auto`` after every this many commits.
        remote: git URL to pull from / push to (``settings.config_remote``); ``None`` for none;
            by default ``HIB_CONFIG_REMOTE`` from the environment.
        push_attempts: fetch-merge-push attempts per commit before it is left owed.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        gc_every: int = DEFAULT_GC_EVERY,
        remote: str | None = FROM_ENVIRONMENT,
        push_attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        self.root = Path(root)
        self.lock_timeout = lock_timeout
        self.gc_every = max(1, gc_every)
        if remote == FROM_ENVIRONMENT:
            remote = os.environ.get("HIB_CONFIG_REMOTE") or None
        self.remote_url = remote
        self.push_attempts = max(1, push_attempts)

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
        """The last committed config of ``host`` (from the work tree), or ``None``.

        With a remote, a store that has no history yet is first filled from the remote's branch,
        so a new runner compares against the shared history instead of an empty store.
        """
        self._bootstrap()
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
        # Full history: a copy that lost a merge to a newer one is still a version of its own.
        proc = git(self.root, *args, "--full-history", "--no-merges", "--", path, check=False)
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
        self._bootstrap()
        return Staging(self._hib_dir / "staging", run_id, owner_pid)

    def _remote(self) -> Remote | None:
        return Remote(self.root, self.remote_url) if self.remote_url else None

    def _bootstrap(self) -> None:
        """Fill a store without history from the remote's branch, once (best effort).

        Every device worker calls this before reading, and all but the first wait on the store
        lock while it fetches, so none of them compares against the empty store. A remote that
        cannot be reached leaves the store empty; the run's commit merges with the remote later.
        """
        if self.remote_url is None:
            return
        marker = self._hib_dir / "bootstrapped"
        if marker.exists():
            return
        self.ensure()
        try:
            with store_lock(self._hib_dir / "lock", self.lock_timeout):
                if marker.exists():
                    return
                remote = self._remote()
                if head_of(self.root) is None and remote is not None:
                    with contextlib.suppress(RemoteError):
                        upstream = remote.fetch()
                        if upstream is not None:
                            git(self.root, "reset", "-q", "--hard", upstream)
                write_atomic(marker, b"1\n")
        except StoreLocked:
            return  # another run holds the store: it has a history to compare with anyway

    def commit_run(self, run_id: str) -> CommitResult:
        """Move the run's staged configs in and make the run's one commit (or none).

        Only files whose content differs from the last commit end up in it; the message lists the
        hosts and ends with the ``Hib-Run: <id>`` trailer. An entry staged against a stored copy
        that another run has replaced since is skipped (``stale_hosts``): committing it would put
        older device state over newer. Staged hosts whose text is already committed (the other
        run saw the same device state) are reported in ``held`` with that commit. Stale staging
        areas of dead runs are removed too. With a remote, the store is then synced
        (:func:`~hib_orchestrator.configstore.sync.sync`); a failed sync is reported, not raised.

        Raises:
            StoreLocked: another run held the lock for longer than ``lock_timeout``.
            StoreError: git failed.
        """
        self.ensure()
        staging = Staging(self._hib_dir / "staging", run_id)
        with store_lock(self._hib_dir / "lock", self.lock_timeout):
            clean_stale(staging.root, keep=run_id)
            entries, stale, same = [], [], []
            for entry in staging.entries():
                stored = self._stored_sha(entry)
                if entry.sha256 and entry.sha256 == stored:
                    same.append(entry.host)  # nothing to move in: the store has this text
                    continue
                if entry.base_sha256 is not None and entry.base_sha256 != stored:
                    # Another run committed this device meanwhile; if it saw the same device
                    # state (volatile lines aside), its commit holds this run's version too.
                    if entry.significant and entry.significant == self._significant(entry.host,
                                                                                    stored):
                        same.append(entry.host)
                    else:
                        stale.append(entry.host)
                    continue
                entries.append(entry)
            _move_in(self.root, entries)
            self._remember_significant(entries)
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
            unchanged = sorted(set(same) | {e.host for e in entries} - set(hosts))
            held = self._holders(unchanged)
            staging.remove()
            result = CommitResult(commit=commit, hosts=hosts, stale_hosts=stale, held=held,
                                  head=head_of(self.root))
            remote = self._remote()
            if remote is None:
                return result
            synced = sync(self.root, remote, run_id, attempts=self.push_attempts)
            if not (self._hib_dir / "bootstrapped").exists():
                write_atomic(self._hib_dir / "bootstrapped", b"1\n")
        return CommitResult(commit=commit, hosts=hosts, stale_hosts=stale, held=held,
                            pushed=synced.pushed, push_error=synced.error, owed=synced.owed,
                            head=synced.head, conflicts=synced.conflicts)

    def _significant_file(self, host: str) -> Path:
        return self._hib_dir / "significant" / path_for(host)

    def _significant(self, host: str, stored_sha: str) -> str | None:
        """The significant hash recorded for the stored file, if it is still that file."""
        try:
            file_sha, _, significant = self._significant_file(host).read_text().partition(" ")
        except OSError:
            return None
        return significant.strip() or None if file_sha == stored_sha else None

    def _remember_significant(self, entries: list[StagedConfig]) -> None:
        # A cache beside the work tree (no fsync: losing it only loses the shortcut above).
        for entry in entries:
            target = self._significant_file(entry.host)
            if entry.significant is None:
                target.unlink(missing_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_text(f"{entry.sha256} {entry.significant}")
            os.replace(tmp, target)

    def _holders(self, hosts: list[str]) -> dict[str, str]:
        """host -> the newest commit that changed its file (for hosts with a committed file)."""
        if not hosts or head_of(self.root) is None:
            return {}
        wanted = {path_for(h): h for h in hosts}
        proc = git(self.root, "log", "--format=%x1e%H", "--name-only", "-z", "--no-renames",
                   "HEAD", "--", *wanted, check=False)
        found: dict[str, str] = {}
        for record in proc.stdout.decode().split("\x1e")[1:]:
            commit, _, names = record.partition("\n")
            for name in names.strip("\0\n").split("\0"):
                host = wanted.get(name.strip("\n"))
                if host is not None and host not in found:
                    found[host] = commit.strip("\0\n ")
        return found

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
