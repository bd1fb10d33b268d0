"""GitHub stand-in: a real bare git repository (mirror mode) plus a small REST API server.

API (``Authorization: Bearer <token>``; 401 ``Bad credentials`` otherwise; ``X-RateLimit-*``
headers like GitHub's 5000/h):

* ``GET /repos/{owner}/{repo}/git/trees/{ref}[?recursive=1]`` from ``git ls-tree``; a recursive
  listing longer than ``truncate_at`` entries is cut and flagged ``truncated`` like GitHub's.
* ``GET /repos/{owner}/{repo}/git/blobs/{sha}``: raw bytes with
  ``Accept: application/vnd.github.raw+json``, else JSON with base64 ``content``.
* ``POST /_hib/github/ratelimit`` ``{"remaining": N, "reset_in": S}``: with 0 remaining every
  call gets GitHub's 403 "API rate limit exceeded" until the reset.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "hib lab",
    "GIT_AUTHOR_EMAIL": "lab@hib.invalid",
    "GIT_COMMITTER_NAME": "hib lab",
    "GIT_COMMITTER_EMAIL": "lab@hib.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(*args: str, cwd: Path | None = None, data: bytes | None = None) -> bytes:
    env = {**os.environ, **_GIT_ENV}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=data, capture_output=True, check=False
    )
    if proc.returncode:
        raise RuntimeError(f"git {args[0]}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def commit_files(
    bare: str | Path,
    add: Mapping[str, bytes] | None = None,
    remove: Iterable[str] = (),
    message: str = "images",
    branch: str = "main",
) -> str:
    """Commit files into the bare repository (created when missing); returns the commit sha."""
    bare = Path(bare)
    if not (bare / "HEAD").exists():
        bare.mkdir(parents=True, exist_ok=True)
        _git("init", "--bare", "--quiet", f"--initial-branch={branch}", str(bare))
    with tempfile.TemporaryDirectory(prefix="hib-gh-") as tmp:
        work = Path(tmp) / "w"
        _git("clone", "--quiet", str(bare), str(work))
        _git("checkout", "--quiet", "-B", branch, cwd=work)
        for key, blob in (add or {}).items():
            target = work / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        for key in remove:
            _git("rm", "--quiet", "--", key, cwd=work)
        _git("add", "--all", cwd=work)
        _git("commit", "--quiet", "--allow-empty", "-m", message, cwd=work)
        _git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
        return _git("rev-parse", "HEAD", cwd=work).decode().strip()


class GithubApp:
    """WSGI app serving the REST endpoints over bare repositories under ``root``."""

    def __init__(self, root: Path, token: str, base_url: str, truncate_at: int = 100_000) -> None:
        self.root = root
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.truncate_at = truncate_at
        self.remaining = 5000
        self.reset_at = time.time() + 3600

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/_hib/github/ratelimit":
            return self._set_rate(environ, start_response)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if auth not in (f"Bearer {self.token}", f"token {self.token}"):
            return self._json(start_response, "401 Unauthorized", {"message": "Bad credentials"})
        if time.time() >= self.reset_at:
            self.remaining, self.reset_at = 5000, time.time() + 3600
        if self.remaining == 0:
            # GitHub answers an exhausted primary rate limit with 403 and Remaining: 0.
            doc = {"message": "API rate limit exceeded for user ID 1."}
            return self._json(start_response, "403 Forbidden", doc)
        self.remaining -= 1
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        if len(parts) != 6 or parts[0] != "repos" or parts[3] != "git":
            return self._json(start_response, "404 Not Found", {"message": "Not Found"})
        bare = self.root / parts[1] / f"{parts[2]}.git"
        if not bare.is_dir():
            return self._json(start_response, "404 Not Found", {"message": "Not Found"})
        if parts[4] == "trees":
            recursive = "recursive=" in environ.get("QUERY_STRING", "")
            return self._tree(start_response, bare, parts[5], recursive)
        if parts[4] == "blobs":
            raw = "raw" in environ.get("HTTP_ACCEPT", "")
            return self._blob(start_response, bare, parts[5], raw)
        return self._json(start_response, "404 Not Found", {"message": "Not Found"})

    def _tree(
        self, start_response: Callable[..., Any], bare: Path, ref: str, recursive: bool
    ) -> Iterable[bytes]:
        try:
            tree_sha = _git("-C", str(bare), "rev-parse", f"{ref}^{{tree}}").decode().strip()
        except RuntimeError:
            return self._json(start_response, "404 Not Found", {"message": "Not Found"})
        args = ["-C", str(bare), "ls-tree", "-l", "-z", *(["-r", "-t"] if recursive else [])]
        entries = []
        for record in _git(*args, tree_sha).split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            mode, kind, sha, size = meta.decode().split()
            entry: dict[str, Any] = {"path": path.decode(), "mode": mode, "type": kind, "sha": sha}
            if kind == "blob":
                entry["size"] = int(size)
            entries.append(entry)
        truncated = recursive and len(entries) > self.truncate_at
        doc = {
            "sha": tree_sha,
            "url": f"{self.base_url}/trees/{tree_sha}",
            "tree": entries[: self.truncate_at] if truncated else entries,
            "truncated": truncated,
        }
        return self._json(start_response, "200 OK", doc)

    def _blob(
        self, start_response: Callable[..., Any], bare: Path, sha: str, raw: bool
    ) -> Iterable[bytes]:
        try:
            data = _git("-C", str(bare), "cat-file", "blob", sha)
        except RuntimeError:
            return self._json(start_response, "404 Not Found", {"message": "Not Found"})
        if raw:
            start_response(
                "200 OK",
                [
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Length", str(len(data))),
                    *self._rate(),
                ],
            )
            return [data]
        doc = {
            "sha": sha,
            "size": len(data),
            "encoding": "base64",
            "content": base64.b64encode(data).decode(),
        }
        return self._json(start_response, "200 OK", doc)

    def _rate(self) -> list[tuple[str, str]]:
        return [
            ("X-RateLimit-Limit", "5000"),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset", str(math.ceil(self.reset_at))),
        ]

    def _set_rate(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        doc = json.loads(environ["wsgi.input"].read(size) or b"{}")
        self.remaining = int(doc.get("remaining", 5000))
        self.reset_at = time.time() + float(doc.get("reset_in", 3600))
        return self._json(start_response, "200 OK", {"ok": True})

    def _json(self, start_response: Callable[..., Any], status: str, doc: Any) -> list[bytes]:
        body = json.dumps(doc).encode()
        start_response(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *self._rate(),
            ],
        )
        return [body]
