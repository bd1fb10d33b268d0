"""A local folder as a provider: migrations from an old dump, and tests.

Settings: ``path`` (required). Keys are POSIX paths relative to it. There is no native checksum,
so the modification time stands in as the change marker and downloads are verified by size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from hib_orchestrator.errors import NetworkError, NotFound
from hib_orchestrator.providers.base import ObjectInfo, ProviderContext, require

CHUNK = 256 * 1024


class LocalProvider:
    """Every regular file under a folder."""

    name: ClassVar[str] = "local"

    def __init__(self, settings: Mapping[str, Any], ctx: ProviderContext | None = None) -> None:
        self.root = Path(require(settings, "path", self.name)).expanduser()

    def list_objects(self) -> Iterator[ObjectInfo]:
        """Walk the folder (sorted, symlinks not followed)."""
        if not self.root.is_dir():
            raise NotFound(f"folder {self.root} does not exist")
        root = str(self.root).rstrip(os.sep) + os.sep
        for dirpath, dirnames, _ in os.walk(root):
            dirnames.sort()
            with os.scandir(dirpath) as entries:
                files = sorted(
                    (e for e in entries if e.is_file(follow_symlinks=False)), key=lambda e: e.name
                )
            for entry in files:
                st = entry.stat(follow_symlinks=False)
                key = entry.path[len(root) :].replace(os.sep, "/")
                yield ObjectInfo(key=key, size=st.st_size, etag=str(st.st_mtime_ns), kind="size")

    def iter_bytes(self, obj: ObjectInfo) -> Iterator[bytes]:
        """Read the file in chunks."""
        path = self.root / obj.key
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    yield chunk
        except FileNotFoundError as err:
            raise NotFound(f"{obj.key} vanished during the run") from err
        except OSError as err:
            raise NetworkError(f"{obj.key}: {err.strerror}") from err

    def close(self) -> None:
        """Nothing to release."""
