"""Image-host provider plug-ins behind one small interface.

Built in (entry-point group ``hib_orchestrator.providers``): ``s3`` (+ ``oss``, ``cos``
presets), ``github``, ``smms``, ``imgur``, ``local``, and ``oss-sdk``/``cos-sdk`` through the
vendors' native SDKs (optional extras of the same names).
"""

from __future__ import annotations

from hib_orchestrator.providers.base import ObjectInfo, Provider, ProviderContext
from hib_orchestrator.providers.ratelimit import RateLimiter
from hib_orchestrator.providers.registry import GROUP, ProviderRegistry, default_registry

__all__ = [
    "GROUP",
    "ObjectInfo",
    "Provider",
    "ProviderContext",
    "ProviderRegistry",
    "RateLimiter",
    "default_registry",
]
