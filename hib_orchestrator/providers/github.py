"""A GitHub image-bed repository: a git mirror by default, the REST API as an alternative.

Settings: ``repo`` (``owner/name``, required), ``branch`` (default: the remote HEAD in mirror
mode, ``main`` in API mode), ``path`` (only keys under this folder), ``token``, ``mode``
(``mirror``/``api``), ``url`` (clone URL; default ``https://github.com/<repo>.git``; a local
path works), ``api`` (default ``https://api.github.com``).

Mirror mode runs ``git clone --mirror`` once, then ``git fetch --prune``: no API quota, no
listing caps, and the history keeps deleted images. The token goes to git through
``GIT_CONFIG_*`` environment variables, never into the mirror's config or a command line.
API mode lists with ``git/trees/<branch>?recursive=1`` (walking sub-trees when GitHub
truncates) and downloads blobs raw. Either way the native checksum is the git blob SHA-1.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, ClassVar

from hib_orchestrator.errors import ConfigError, NetworkError, NotFound, ProviderAuthFailed
from hib_orchestrator.providers.base import ObjectInfo, ProviderContext, optional, require
from hib_orchestrator.providers.http import HttpClient

_AUTH_HINTS = ("authentication failed", "could not read username", "403", "401")
_MISSING_HINTS = ("not found", "does not appear to be a git repository", "does not exist")


class GithubProvider:
    """An image-bed repository on GitHub (or any git host in mirror mode)."""

    name: ClassVar[str] = "github"

    def __init__(self, settings: Mapping[str, Any], ctx: ProviderContext | None = None) -> None:
        ctx = ctx or ProviderContext()
        self.repo = require(settings, "repo", self.name)
        self.mode = optional(settings, "mode", "mirror")
        if self.mode not in ("mirror", "api"):
            raise ConfigError(f"provider 'github' mode must be mirror or api, not {self.mode!r}")
        self.branch = optional(settings, "branch")
        self.prefix = optional(settings, "path").strip("/")
        self.token = optional(settings, "token")
        self.url = optional(settings, "url", f"https://github.com/{self.repo}.git")
        self.api = optional(settings, "api", "https://api.github.com").rstrip("/")
        self.limiter = ctx.limiter
        self.http = HttpClient(limiter=ctx.limiter, pool_size=ctx.pool_size, provider=self.name)
        workdir = ctx.workdir or Path.cwd() / ".hib-github"
        self.mirror = workdir / "mirror.git"
        self._cat: subprocess.Popen[bytes] | None = None
        self._cat_lock = threading.Lock()

    # -- listing -----------------------------------------------------------------------------
    def list_objects(self) -> Iterator[ObjectInfo]:
        """Every blob of the branch's tree under ``path``."""
        if self.mode == "mirror":
            yield from self._list_mirror()
        else:
            yield from self._list_api()

    def _keep(self, path: str) -> bool:
        return not self.prefix or path.startswith(self.prefix + "/")

    def _list_mirror(self) -> Iterator[ObjectInfo]:
        self._sync_mirror()
        ref = self.branch or "HEAD"
        out = self._git("ls-tree", "-r", "-l", "-z", "--full-tree", ref)
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, kind, sha, size = meta.split()
            path = raw_path.decode("utf-8", "surrogateescape")
            if kind == b"blob" and mode != b"120000" and self._keep(path):
                yield ObjectInfo(path, int(size), sha.decode(), "git-sha1", sha.decode())

    def _sync_mirror(self) -> None:
        if (self.mirror / "HEAD").exists():
            self._git("fetch", "--prune", "--quiet", "origin")
            return
        self.mirror.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.mirror.with_name("mirror.git.part")
        if tmp.exists():
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
        self._run(["git", "clone", "--mirror", "--quiet", self.url, str(tmp)])
        tmp.rename(self.mirror)

    def _list_api(self) -> Iterator[ObjectInfo]:
        branch = self.branch or "main"
        doc = self.http.get_json(
            f"{self.api}/repos/{self.repo}/git/trees/{branch}?recursive=1", self._headers()
        )
        if doc.get("truncated"):
            # GitHub caps recursive trees (~100k entries); walk sub-trees one level at a time.
            yield from self._walk_tree(doc["sha"], "")
            return
        yield from self._tree_entries(doc.get("tree", []), "")

    def _walk_tree(self, sha: str, base: str) -> Iterator[ObjectInfo]:
        doc = self.http.get_json(f"{self.api}/repos/{self.repo}/git/trees/{sha}", self._headers())
        for entry in doc.get("tree", []):
            if entry.get("type") == "tree":
                yield from self._walk_tree(entry["sha"], f"{base}{entry['path']}/")
        yield from self._tree_entries(doc.get("tree", []), base)

    def _tree_entries(self, entries: list[dict[str, Any]], base: str) -> Iterator[ObjectInfo]:
        for entry in entries:
            path = base + entry["path"]
            if entry.get("type") == "blob" and entry.get("mode") != "120000" and self._keep(path):
                sha = entry["sha"]
                yield ObjectInfo(path, int(entry.get("size", 0)), sha, "git-sha1", sha)

    # -- download ----------------------------------------------------------------------------
    def iter_bytes(self, obj: ObjectInfo) -> Iterator[bytes]:
        """The blob's bytes: from the mirror, or the API's raw blob endpoint."""
        if self.mode == "api":
            headers = {**self._headers(), "Accept": "application/vnd.github.raw+json"}
            url = f"{self.api}/repos/{self.repo}/git/blobs/{obj.ref or obj.etag}"
            yield from self.http.iter_bytes(url, headers)
            return
        yield self._cat_blob(obj.ref or obj.etag)

    def _cat_blob(self, sha: str) -> bytes:
        with self._cat_lock:
            if self._cat is None:
                self._cat = subprocess.Popen(
                    ["git", "-C", str(self.mirror), "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            proc = self._cat
            stdin, stdout = _pipes(proc)
            stdin.write(sha.encode() + b"\n")
            stdin.flush()
            header = stdout.readline().split()
            if len(header) != 3:
                raise NotFound(f"blob {sha} missing from the mirror")
            data = stdout.read(int(header[2]))
            stdout.read(1)
            return data

    def close(self) -> None:
        """Stop the cat-file helper and close HTTP connections."""
        if self._cat is not None:
            stdin, _ = _pipes(self._cat)
            stdin.close()
            self._cat.wait(timeout=10)
            self._cat = None
        self.http.close()

    # -- helpers -----------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "User-Agent": "hib-orchestrator"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _git(self, *args: str) -> bytes:
        return self._run(["git", "-C", str(self.mirror), *args])

    def _run(self, argv: list[str]) -> bytes:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        if self.token:
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0="http.extraHeader",
                GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
            )
        self.limiter.acquire()
        proc = subprocess.run(argv, env=env, capture_output=True, check=False, timeout=3600)
        if proc.returncode == 0:
            return proc.stdout
        err = proc.stderr.decode("utf-8", "replace").replace(self.token or "\0", "***")
        line = " ".join(err.split())[:200]
        low = line.lower()
        verb = argv[3] if argv[1] == "-C" else argv[1]
        if any(h in low for h in _AUTH_HINTS):
            raise ProviderAuthFailed(f"git {verb} {self.repo}: {line}")
        if any(h in low for h in _MISSING_HINTS):
            raise NotFound(f"git {verb} {self.repo}: {line}")
        raise NetworkError(f"git {verb} {self.repo}: {line}")


def _pipes(proc: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert proc.stdin is not None and proc.stdout is not None
    return proc.stdin, proc.stdout
