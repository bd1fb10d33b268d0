"""Where a device's config lives in the store: a pure function of its inventory name.

Layout: ``<2 hex chars of sha1(host)>/<host>.cfg``. The fan-out keeps every git tree object small
(a commit rewrites the root tree plus the subtrees it touches), so a commit stays cheap at 10k
devices; the name is kept readable. Names that could escape the store or clash on case-folding
filesystems' special names are refused instead of being rewritten, so two hosts never share a file.
"""

from __future__ import annotations

import hashlib
import re

from hib_orchestrator.errors import ConfigError

SUFFIX = ".cfg"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@+\-]{0,199}")


def check_host_name(host: str) -> str:
    """Return ``host`` if it can name a file in the store.

    Raises:
        ConfigError: empty, too long, a path separator, ``..``, a leading dot or dash, control or
            other characters outside ``A-Z a-z 0-9 _ . : @ + -``.
    """
    if not isinstance(host, str) or not _SAFE_NAME.fullmatch(host) or ".." in host:
        raise ConfigError(
            f"host name {host!r} cannot name a config file (allowed: letters, digits, "
            "'_.:@+-', not starting with '.' or '-', no '..', at most 200 characters)"
        )
    return host


def path_for(host: str) -> str:
    """Relative path of ``host``'s config in the store (POSIX separators).

    Raises:
        ConfigError: see :func:`check_host_name`.
    """
    check_host_name(host)
    shard = hashlib.sha1(host.encode(), usedforsecurity=False).hexdigest()[:2]
    return f"{shard}/{host}{SUFFIX}"


def host_from_path(path: str) -> str | None:
    """Inverse of :func:`path_for` (``None`` for files that are not device configs)."""
    parts = path.split("/")
    if len(parts) != 2 or not parts[1].endswith(SUFFIX):
        return None
    host = parts[1][: -len(SUFFIX)]
    try:
        return host if path_for(host) == path else None
    except ConfigError:
        return None
