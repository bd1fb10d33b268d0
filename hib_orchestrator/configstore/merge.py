"""Joining this runner's commits with the remote's: a merge where the newest device copy wins.

Runners never rewrite commits: a run's commit keeps its hash (the run database names it) and
stays reachable from the remote's branch. When both sides moved, one merge commit joins them
(first parent the remote's, second ours). Per device file:

* changed on one side only: that side's copy;
* changed on both sides to the same text: that text (no conflict);
* changed on both sides differently (two runners backed up the same device): the copy whose
  commit is newer (committer time, i.e. when its run committed; a tie goes to this runner) ends
  up in the tree, and the older copy stays in history as the commit of its own run. Each such
  file is reported as a :class:`Conflict` and listed in the merge commit's message.

Everything is git plumbing on a private index, so the work tree is touched once, afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hib_orchestrator.configstore.git import git
from hib_orchestrator.configstore.paths import host_from_path

MERGE_TRAILER = "Hib-Merge"


@dataclass(frozen=True, slots=True)
class Conflict:
    """One device file both sides changed differently, and which copy the merge kept."""

    host: str
    kept: str  # "this_runner" (our copy is newer) or "remote" (the remote's copy is newer)
    ours: str  # commit that holds this runner's copy
    theirs: str  # commit that holds the remote's copy

    def to_dict(self) -> dict[str, str]:
        """Plain data for results and JSON."""
        return {"host": self.host, "kept": self.kept, "ours": self.ours, "theirs": self.theirs}


def is_ancestor(root: Path, older: str, newer: str) -> bool:
    """True when ``older`` is ``newer`` or one of its ancestors."""
    return git(root, "merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def integrate(root: Path, local: str, upstream: str | None, run_id: str
              ) -> tuple[str, list[Conflict]]:
    """The commit that holds both ``local`` and ``upstream`` (making a merge only if needed).

    Returns:
        The commit to make the branch point at, and the conflicts the merge resolved.
    """
    if upstream is None or upstream == local or is_ancestor(root, upstream, local):
        return local, []
    if is_ancestor(root, local, upstream):
        return upstream, []
    base_proc = git(root, "merge-base", local, upstream, check=False)
    base = base_proc.stdout.decode().strip() or _empty_tree(root)
    ours, theirs = _changes(root, base, local), _changes(root, base, upstream)
    index = root / ".git" / "hib" / "merge.index"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git(root, "read-tree", upstream, env_extra=env)
        updates: list[str] = []
        conflicts: list[Conflict] = []
        for path, (mode, blob) in ours.items():
            other = theirs.get(path)
            if other is not None and other[1] == blob:
                continue
            if other is not None:
                mine, mine_at = _last_change(root, local, path)
                their, their_at = _last_change(root, upstream, path)
                ours_newer = mine_at >= their_at
                host = host_from_path(path) or path
                conflicts.append(Conflict(host, "this_runner" if ours_newer else "remote",
                                          mine, their))
                if not ours_newer:
                    continue
            updates.append(f"{mode} {blob}\t{path}" if set(blob) != {"0"}
                           else f"0 {blob}\t{path}")
        if updates:
            git(root, "update-index", "-z", "--index-info",
                input_bytes=b"".join(u.encode() + b"\0" for u in updates), env_extra=env)
        tree = git(root, "write-tree", env_extra=env).stdout.decode().strip()
    finally:
        index.unlink(missing_ok=True)
    message = _message(run_id, conflicts)
    merge = git(root, "commit-tree", tree, "-p", upstream, "-p", local, "-F", "-",
                input_bytes=message.encode()).stdout.decode().strip()
    return merge, conflicts


def _empty_tree(root: Path) -> str:
    proc = git(root, "hash-object", "-t", "tree", "--stdin", input_bytes=b"")
    return proc.stdout.decode().strip()


def _changes(root: Path, base: str, tip: str) -> dict[str, tuple[str, str]]:
    """path -> (new mode, new blob) of what changed from ``base`` to ``tip`` (zeros: deleted)."""
    raw = git(root, "diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", base, tip).stdout
    fields = raw.split(b"\0")
    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(fields) - 1, 2):
        meta = fields[i].decode().lstrip(":").split()
        if len(meta) >= 5:
            out[fields[i + 1].decode()] = (meta[1], meta[3])
    return out


def _last_change(root: Path, tip: str, path: str) -> tuple[str, int]:
    """The commit that gave ``path`` its content at ``tip``, and its committer time."""
    line = git(root, "log", "-1", "--format=%H %ct", tip, "--", path).stdout.decode().split()
    return (line[0], int(line[1])) if len(line) == 2 else (tip, 0)


def _message(run_id: str, conflicts: list[Conflict]) -> str:
    lines = [f"hib run {run_id}: merge with the config remote", ""]
    if conflicts:
        lines.append(f"{len(conflicts)} device config(s) changed on both sides; newest kept:")
        lines += [f"- {c.host}: kept {'this runner' if c.kept == 'this_runner' else 'the remote'}"
                  f"'s copy ({(c.ours if c.kept == 'this_runner' else c.theirs)[:12]}), older "
                  f"copy in {(c.theirs if c.kept == 'this_runner' else c.ours)[:12]}"
                  for c in conflicts[:200]]
        lines.append("")
    return "\n".join([*lines, f"{MERGE_TRAILER}: {run_id}", ""])


__all__ = ["MERGE_TRAILER", "Conflict", "integrate", "is_ancestor"]
