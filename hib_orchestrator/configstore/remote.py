"""Talking to the config store's git remote (``HIB_CONFIG_REMOTE``): check, fetch, push.

Every remote command runs non-interactively (no password prompt, ssh in batch mode) and with a
time bound, and every failure becomes one line with a stable code and no credentials in it:

* ``REMOTE_UNREACHABLE`` (:class:`RemoteUnreachable`): no connection, a name that does not
  resolve, a time-out, a repository that does not exist at that URL;
* ``PUSH_FAILED`` (:class:`RemoteError`): the remote answered and refused: authentication or
  permission, a push rejected by a hook, or a branch that kept moving for every attempt.

A URL that cannot work at all (an unknown scheme, whitespace, an empty value) is refused up front
by :func:`check_remote_url`, which settings loading calls, so ``hib`` exits 2 on it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hib_orchestrator.configstore.git import git
from hib_orchestrator.errors import ConfigError, RemoteError, RemoteUnreachable

REMOTE_NAME = "origin"
BRANCH = "main"
REMOTE_REF = f"refs/remotes/{REMOTE_NAME}/{BRANCH}"
NETWORK_TIMEOUT_S = 120.0
#: Transports git itself speaks; anything else would need a ``git-remote-<scheme>`` helper.
SCHEMES = ("ssh", "git", "http", "https", "file", "ssh+git", "git+ssh")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
#: Low-speed abort for http(s): a stalled server ends the command instead of hanging the run.
_NETWORK_CONFIG = ("-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30",
                   "-c", "credential.interactive=false")

_AUTH = ("authentication failed", "permission denied", "could not read username",
         "could not read password", "terminal prompts disabled", "access denied",
         "returned error: 401", "returned error: 403", "invalid credentials")
_UNREACHABLE = ("could not resolve", "connection refused", "failed to connect",
                "connection timed out", "timed out", "no route to host", "network is unreachable",
                "does not appear to be a git repository", "repository not found",
                "not found", "no such file or directory", "unable to access",
                "could not read from remote repository", "connection reset",
                "connection closed", "host key verification failed")
_RACE = ("[rejected]", "non-fast-forward", "fetch first", "failed to update ref",
         "cannot lock ref", "incorrect old value", "stale info")


def redact_url(text: str) -> str:
    """``text`` with the user/password part of any URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\1***@", text)


def check_remote_url(url: str) -> str:
    """Return ``url`` if git can use it as a remote (``ssh://``, ``https://``, ``file://``, a
    ``user@host:path`` or a local path).

    Raises:
        ConfigError: empty, contains whitespace or control characters, or an unknown scheme.
    """
    shown = redact_url(url)
    if not url or url != url.strip() or any(c.isspace() or ord(c) < 32 for c in url):
        raise ConfigError(f"HIB_CONFIG_REMOTE is not a usable git URL: {shown!r}")
    if url.startswith("-"):
        raise ConfigError(f"HIB_CONFIG_REMOTE must not start with '-': {shown!r}")
    match = _SCHEME.match(url)
    if match and match.group(1).lower() not in SCHEMES:
        raise ConfigError(
            f"HIB_CONFIG_REMOTE has an unsupported URL scheme {match.group(1)!r} "
            f"(use ssh://, https://, file://, user@host:path or a path): {shown!r}"
        )
    if match and not url[match.end():]:
        raise ConfigError(f"HIB_CONFIG_REMOTE names no host or path: {shown!r}")
    return url


def _env() -> dict[str, str]:
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false", "SSH_ASKPASS": "/bin/false"}
    if not os.environ.get("GIT_SSH_COMMAND") and not os.environ.get("GIT_SSH"):
        # BatchMode: a key that needs a passphrase or a password login fails instead of waiting.
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o ConnectTimeout=15"
    return env


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one remote command ended: ``ok``, ``race`` (retry after a fetch), or an error."""

    ok: bool
    race: bool = False
    error: RemoteError | None = None


def classify(what: str, detail: str) -> RemoteError:
    """The error for a failed ``what`` (fetch/push) whose git output was ``detail``."""
    text = detail.lower()
    lines = [line.strip() for line in redact_url(detail).splitlines() if line.strip()]
    last = next((ln for ln in reversed(lines) if ln.lower().startswith(("fatal", "error", "!"))),
                lines[-1] if lines else "no output")
    if any(marker in text for marker in _AUTH):
        return RemoteError(f"config remote refused the {what}: authentication failed ({last})")
    if any(marker in text for marker in _UNREACHABLE):
        return RemoteUnreachable(f"config remote unreachable during {what}: {last}")
    return RemoteError(f"config remote {what} failed: {last}")


class Remote:
    """The remote of the store at ``root``, registered there as ``origin``."""

    def __init__(self, root: Path, url: str, *, timeout: float = NETWORK_TIMEOUT_S) -> None:
        self.root = root
        self.url = check_remote_url(url)
        self.timeout = timeout

    def configure(self) -> None:
        """Point ``origin`` at the URL (added, or changed if the setting changed)."""
        current = git(self.root, "config", "--get", f"remote.{REMOTE_NAME}.url", check=False)
        if current.returncode == 0 and current.stdout.decode().strip() == self.url:
            return
        git(self.root, "config", f"remote.{REMOTE_NAME}.url", self.url)
        git(self.root, "config", "--replace-all", f"remote.{REMOTE_NAME}.fetch",
            f"+refs/heads/{BRANCH}:{REMOTE_REF}")

    def fetch(self) -> str | None:
        """Fetch the remote's branch; its commit, or ``None`` when the remote has no history.

        Raises:
            RemoteError: the fetch failed (code ``REMOTE_UNREACHABLE`` or ``PUSH_FAILED``).
        """
        self.configure()
        # Every branch, so an empty remote (no main yet) is a successful fetch of nothing.
        proc = git(self.root, "fetch", "--quiet", "--no-tags", "--prune", REMOTE_NAME,
                   f"+refs/heads/*:refs/remotes/{REMOTE_NAME}/*", check=False,
                   extra_config=_NETWORK_CONFIG, timeout=self.timeout, env_extra=_env())
        if proc.returncode != 0:
            raise classify("fetch", proc.stderr.decode(errors="replace"))
        head = git(self.root, "rev-parse", "--verify", "--quiet", f"{REMOTE_REF}^{{commit}}",
                   check=False)
        if head.returncode != 0:
            return None
        return head.stdout.decode().strip() or None

    def push(self, commit: str) -> Outcome:
        """Push ``commit`` as the remote's branch, fast-forward only (never forced)."""
        proc = git(self.root, "push", "--porcelain", "--quiet", REMOTE_NAME,
                   f"{commit}:refs/heads/{BRANCH}", check=False, extra_config=_NETWORK_CONFIG,
                   timeout=self.timeout, env_extra=_env())
        if proc.returncode == 0:
            git(self.root, "update-ref", REMOTE_REF, commit)
            return Outcome(ok=True)
        detail = proc.stdout.decode(errors="replace") + "\n" + proc.stderr.decode(errors="replace")
        error = classify("push", detail)
        lowered = detail.lower()
        raced = type(error) is RemoteError and any(marker in lowered for marker in _RACE)
        return Outcome(ok=False, race=raced, error=error)


__all__ = ["BRANCH", "REMOTE_REF", "Outcome", "Remote", "check_remote_url", "classify",
           "redact_url"]
