"""Package exports imported on first use (PEP 562 module ``__getattr__``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) on first use.

    Packages whose public names pull in heavy modules (SQLAlchemy, yaml, the lab manager) export
    them this way, so that importing the package, or a light submodule of it, stays cheap::

        __getattr__ = lazy_exports(__name__, {"Recorder": "hib_orchestrator.recording.recorder"})
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__


__all__ = ["lazy_exports"]
