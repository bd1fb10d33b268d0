"""The provider plug-in interface: list objects flat, stream one object's bytes.

A provider is one small class per image host. The transfer engine only ever calls
:meth:`Provider.list_objects` (once per run, a flat listing, never a HEAD per object) and
:meth:`Provider.iter_bytes` (once per object that must be downloaded), so a faster client can be
swapped in behind the same two methods.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.providers.ratelimit import RateLimiter

#: How a download is verified: MD5 of the bytes vs a single-part ETag, git blob SHA-1, or size only.
ChecksumKind = Literal["md5", "git-sha1", "size"]


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object as the provider lists it.

    Attributes:
        key: the provider's full, stable identity (``2024/01/a.png``, an Imgur id, ...). Never a
            basename: two folders may hold the same file name.
        size: size in bytes as listed.
        etag: the native checksum/ETag/version marker as listed ("" when the API has none).
        kind: how ``etag`` verifies the downloaded bytes.
        ref: whatever the provider needs to fetch the bytes (URL, blob SHA, path); defaults to key.
    """

    key: str
    size: int
    etag: str
    kind: ChecksumKind
    ref: str = ""


@dataclass(slots=True)
class ProviderContext:
    """What the engine hands every provider besides its settings.

    Attributes:
        host: inventory host name (used in error messages).
        limiter: the provider's shared request-rate cap.
        pool_size: connections to keep (= download workers).
        workdir: a private folder for caches (the GitHub mirror lives there).
    """

    host: str = ""
    limiter: RateLimiter = field(default_factory=RateLimiter)
    pool_size: int = 16
    workdir: Path | None = None


@runtime_checkable
class Provider(Protocol):
    """What every provider plug-in implements."""

    name: ClassVar[str]

    def list_objects(self) -> Iterator[ObjectInfo]:
        """Every object, flat, with stable keys. Raises ProviderError subclasses."""
        ...

    def iter_bytes(self, obj: ObjectInfo) -> Iterator[bytes]:
        """The object's bytes in chunks. Raises ProviderError subclasses."""
        ...

    def close(self) -> None:
        """Release connections and helper processes."""
        ...


def require(settings: Mapping[str, Any], key: str, provider: str) -> str:
    """A required string setting, or ConfigError naming the missing inventory variable."""
    value = settings.get(key)
    if value is None or value == "":
        raise ConfigError(f"provider {provider!r} needs setting {key!r} (host var hib_{key})")
    return str(value)


def page_size(settings: Mapping[str, Any], provider: str) -> int:
    """``page_size`` (keys per listing request), 1..1000, default 1000.

    Raises:
        ConfigError: not a number in that range.
    """
    try:
        size = int(settings.get("page_size", 1000))
    except (TypeError, ValueError):
        size = 0
    if not 1 <= size <= 1000:
        raise ConfigError(f"provider {provider!r} page_size must be 1..1000")
    return size


def optional(settings: Mapping[str, Any], key: str, default: str = "") -> str:
    """An optional string setting."""
    value = settings.get(key)
    return default if value is None else str(value)
