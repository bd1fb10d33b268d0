"""Build hook: the wheel carries the Ansible collection hib.orchestrator beside the package.

ansible-core looks for collections in every ``ansible_collections`` directory on ``sys.path``,
so a wheel that installs ``site-packages/ansible_collections/hib/orchestrator`` makes
``ansible-playbook hib.orchestrator.backup`` work after ``pip install hib-orchestrator``.

Only the regular wheel copies it. An editable install must not: a copy in site-packages would
be found before the checkout and go stale with every edit; the editable install puts the
checkout's ``collections/`` (whose ``hib/orchestrator`` is a symlink to the checkout) on
``sys.path`` instead (``dev-mode-dirs`` in pyproject.toml).
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CollectionHook(BuildHookInterface):  # type: ignore[type-arg]
    """Maps the collection's content (``content`` in the hook's config) under ``root``."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version != "standard":
            return
        root = str(self.config["root"])
        for name in self.config["content"]:
            build_data["force_include"][name] = f"{root}/{name}"
