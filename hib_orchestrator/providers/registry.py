"""Provider plug-ins, discovered through the ``hib_orchestrator.providers`` entry-point group.

A third-party package adds a provider by declaring, in its ``pyproject.toml``::

    [project.entry-points."hib_orchestrator.providers"]
    myhost = "my_package.module:MyProvider"

The registry is an instance (no class-level shared state), loaded lazily and cached per instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from hib_orchestrator.errors import UnsupportedProvider
from hib_orchestrator.providers.base import Provider, ProviderContext

GROUP = "hib_orchestrator.providers"


class ProviderRegistry:
    """Name → provider class, from the entry-point group."""

    def __init__(self, group: str = GROUP) -> None:
        self.group = group
        self._classes: dict[str, Any] | None = None

    def names(self) -> list[str]:
        """Registered provider names, sorted."""
        return sorted(self._load())

    def get(self, name: str) -> Any:
        """The provider class registered under ``name``.

        Raises:
            UnsupportedProvider: nothing is registered under that name, or its module (or the
                optional extra it needs) cannot be imported.
        """
        classes = self._load()
        if name not in classes:
            known = ", ".join(sorted(classes)) or "none"
            raise UnsupportedProvider(f"no provider plug-in {name!r} (registered: {known})")
        target = classes[name]
        if hasattr(target, "load"):
            try:
                target = classes[name] = target.load()
            except ImportError as err:
                raise UnsupportedProvider(
                    f"provider {name!r} cannot be loaded: {err}; install hib-orchestrator[{name}]"
                ) from err
        return target

    def create(
        self, name: str, settings: Mapping[str, Any], ctx: ProviderContext | None = None
    ) -> Provider:
        """Instantiate provider ``name`` with its settings."""
        provider: Provider = self.get(name)(settings, ctx)
        return provider

    def _load(self) -> dict[str, Any]:
        if self._classes is None:
            self._classes = {ep.name: ep for ep in entry_points(group=self.group)}
        return self._classes


def default_registry() -> ProviderRegistry:
    """A fresh registry over the installed entry points."""
    return ProviderRegistry()
