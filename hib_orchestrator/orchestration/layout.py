"""Where ``hib run`` finds the collection hib.orchestrator, and the Ansible settings it needs.

Two layouts, told apart by where the package itself lives:

* **a checkout** (``pip install -e .``): the repository root holds ``ansible.cfg``,
  ``playbooks/`` and ``collections/`` (whose ``hib/orchestrator`` is a symlink to the root).
  Runs use that ``ansible.cfg`` and run in the root, as they always did.
* **an installed package** (a wheel): the collection is installed beside the package
  (``site-packages/ansible_collections/hib/orchestrator``), which ansible-core finds on
  ``sys.path``; there is no hib ``ansible.cfg``. Runs happen in the working directory, so the
  user's own ``ansible.cfg`` applies, and the settings hib relies on travel as ``ANSIBLE_*``
  variables, each only where the user's configuration leaves it at Ansible's default.

Example::

    layout = current_layout()
    env = layout.ansible_env()      # {"ANSIBLE_FORKS": "50", ...} (installed) or {} + cfg
    playbook = layout.default_playbook()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hib_orchestrator.errors import ConfigError

#: The backup playbook inside the collection (``ansible-playbook hib.orchestrator.backup``).
BACKUP_PLAYBOOK = "hib.orchestrator.backup"
RECORDER = "hib.orchestrator.recorder"

# What the checkout's ansible.cfg sets, as (Ansible setting, environment variable, value). The
# backup playbook needs none of them to be correct; they make it behave as documented: forks is
# the device batch's concurrency, host keys of lab and fleet devices are not in known_hosts
# (netmiko logs in, not ssh), a plain YAML inventory is parsed by `yaml` before `auto` tries it
# (seconds on 1,000 hosts), and the plays of groups an inventory lacks are skipped unannounced.
HIB_DEFAULTS: tuple[tuple[str, str, str], ...] = (
    ("DEFAULT_FORKS", "ANSIBLE_FORKS", "50"),
    ("HOST_KEY_CHECKING", "ANSIBLE_HOST_KEY_CHECKING", "False"),
    ("INTERPRETER_PYTHON", "ANSIBLE_PYTHON_INTERPRETER", "auto_silent"),
    ("DEFAULT_GATHERING", "ANSIBLE_GATHERING", "explicit"),
    ("INVENTORY_ENABLED", "ANSIBLE_INVENTORY_ENABLED", "host_list,script,yaml,auto,ini,toml"),
    ("HOST_PATTERN_MISMATCH", "ANSIBLE_HOST_PATTERN_MISMATCH", "ignore"),
)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where runs take place and which Ansible configuration they use.

    Attributes:
        root: The directory ``ansible-playbook`` runs in (the checkout, or the working directory).
        config: The checkout's ``ansible.cfg``; None for an installed package.
        collections: The checkout's ``collections/`` folder; None for an installed package.
    """

    root: Path
    config: Path | None
    collections: Path | None

    @property
    def checkout(self) -> bool:
        """True when hib runs from a repository checkout with its own ``ansible.cfg``."""
        return self.config is not None

    def collection_paths(self) -> list[str]:
        """Collection folders to put before Ansible's configured ones (the checkout's)."""
        return [str(self.collections)] if self.collections is not None else []

    def ansible_env(self) -> dict[str, str]:
        """The ``ANSIBLE_*`` variables a run needs in this layout.

        A checkout: its ``ansible.cfg`` and ``collections/``. Installed: hib's defaults for the
        settings the user's configuration does not set, and the recorder added to the user's
        enabled callbacks.
        """
        if self.config is not None and self.collections is not None:
            return {
                "ANSIBLE_CONFIG": str(self.config),
                "ANSIBLE_COLLECTIONS_PATH": str(self.collections),
                "ANSIBLE_CALLBACKS_ENABLED": RECORDER,
            }
        from ansible import constants as C

        env: dict[str, str] = {}
        for setting, variable, value in HIB_DEFAULTS:
            _value, origin = C.config.get_config_value_and_origin(setting)
            if origin == "default":
                env[variable] = value
        enabled = [str(c) for c in C.CALLBACKS_ENABLED or []]
        env["ANSIBLE_CALLBACKS_ENABLED"] = ",".join([*enabled, RECORDER]) \
            if RECORDER not in enabled else ",".join(enabled)
        return env

    def default_playbook(self) -> Path:
        """The backup playbook ``hib run`` runs when given none.

        Raises:
            ConfigError: no reachable collection hib.orchestrator has it.
        """
        if self.checkout:
            return self.root / "playbooks" / "backup.yml"
        from ansible.utils.collection_loader._collection_finder import (
            _get_collection_playbook_path,
        )

        from hib_orchestrator.orchestration.runner import init_ansible_plugins

        init_ansible_plugins()
        found = _get_collection_playbook_path(BACKUP_PLAYBOOK)
        if not found:
            raise ConfigError(
                f"cannot find the playbook {BACKUP_PLAYBOOK}: the collection hib.orchestrator is "
                "not installed (pip install hib-orchestrator, or ansible-galaxy collection install)"
            )
        return Path(found[1])


def checkout_root() -> Path | None:
    """The repository checkout this package runs from, or None for an installed package."""
    root = Path(__file__).resolve().parents[2]
    if (root / "ansible.cfg").is_file() and (root / "playbooks").is_dir() \
            and (root / "collections").is_dir():
        return root
    return None


def current_layout(cwd: Path | None = None) -> Layout:
    """The layout of this installation (``cwd``: where an installed package's runs happen)."""
    root = checkout_root()
    if root is not None:
        return Layout(root, root / "ansible.cfg", root / "collections")
    return Layout((cwd or Path.cwd()).resolve(), None, None)
