"""Run a playbook through ansible-runner with hib's settings, progress and cancel.

What it guarantees:

* the recorder callback is enabled and attached to the run row the caller created
  (``HIB_RUN_ID`` in the environment of ``ansible-playbook``);
* no secret travels through the runner's environment: only hib's own non-secret variables
  are added, and the ``command``/``env`` artifacts are redacted as soon as the process starts;
* cancel is two-stage: the first request writes the run's cancel file, which hib's action
  plugins check before they start a host (in-flight hosts finish or hit their timeout); the
  second kills ``ansible-playbook`` at once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.orchestration.layout import current_layout
from hib_orchestrator.settings import Settings

# Names that look like they hold credentials; their values are redacted in runner artifacts.
_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)
KEEP_ARTIFACTS = 10


def init_ansible_plugins() -> None:
    """Make Ansible's plugin loaders see collections (hib's own included), once per process.

    ``ansible-playbook`` does this in its CLI; code that parses inventories or looks plugins up
    in this process needs it too: an inventory config naming ``ansible.builtin.generator`` or a
    collection's plugin fails to load without it. A checkout's ``collections/`` comes first,
    then Ansible's configured paths and ``sys.path`` (where an installed package's collection is).
    """
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader(current_layout().collection_paths())


def _builtin_strategies() -> set[str]:
    spec = importlib.util.find_spec("ansible")
    if spec is None or not spec.submodule_search_locations:
        return set()
    folder = Path(next(iter(spec.submodule_search_locations))) / "plugins" / "strategy"
    return {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}


def check_strategy(name: str) -> None:
    """Refuse a strategy Ansible cannot load, before a run is created for it.

    Raises:
        ConfigError: ``name`` is neither a builtin strategy nor one in a reachable collection.
    """
    if name.removeprefix("ansible.builtin.") in _builtin_strategies():
        return  # asking the loader would import the strategy package (and its warnings)
    from ansible.plugins.loader import strategy_loader

    init_ansible_plugins()
    if not strategy_loader.has_plugin(name):
        raise ConfigError(f"unknown Ansible strategy {name!r} (try fleet, linear or free)")


@dataclass(slots=True)
class RunRequest:
    """What to run, in Ansible's terms."""

    playbook: Path
    inventory: list[str]
    limit: str | None = None
    forks: int | None = None
    strategy: str | None = None
    check: bool = False
    extravars: dict[str, Any] = field(default_factory=dict)
    verbosity: int = 0


@dataclass(slots=True)
class RunnerOutcome:
    """How ansible-runner ended: ``successful``, ``failed``, ``canceled``, ``timeout``."""

    status: str
    rc: int | None
    stats: dict[str, Any] | None
    hard_canceled: bool
    soft_canceled: bool
    stdout_tail: str


class CancelToken:
    """Two-stage cancel shared between a signal handler and the runner."""

    def __init__(self, cancel_file: Path) -> None:
        self.cancel_file = cancel_file
        self.requests = 0
        self._lock = threading.Lock()

    def request(self) -> int:
        """Ask to cancel; returns how many times cancel was requested so far."""
        with self._lock:
            self.requests += 1
            if self.requests == 1:
                self.cancel_file.parent.mkdir(parents=True, exist_ok=True)
                self.cancel_file.write_text("canceled by user\n")
            return self.requests

    @property
    def soft(self) -> bool:
        return self.requests >= 1

    @property
    def hard(self) -> bool:
        return self.requests >= 2


def _redact_artifacts(artifact_dir: Path) -> None:
    for name in ("command", "env", "env/envvars"):
        path = artifact_dir / name
        if not path.is_file():
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        env = doc.get("env") if isinstance(doc, dict) and "env" in doc else doc
        if isinstance(env, dict):
            for key in list(env):
                if _SECRET_NAME.search(key):
                    env[key] = "********"
        path.write_text(json.dumps(doc), encoding="utf-8")


def progress_path(settings: Settings, run_id: int) -> Path:
    """Where a run's device batches report each device as it ends (``HIB_PROGRESS_FILE``)."""
    return settings.runner_dir / str(run_id) / "progress.jsonl"


def run_playbook(
    request: RunRequest,
    settings: Settings,
    run_id: int,
    on_event: Callable[[dict[str, Any]], None],
    cancel: CancelToken,
) -> RunnerOutcome:
    """Run ``request`` to the end and report every runner event to ``on_event``."""
    import ansible_runner  # heavy; imported only when a run starts

    layout = current_layout()
    private = settings.runner_dir / str(run_id)
    private.mkdir(parents=True, exist_ok=True)
    venv_bin = str(Path(sys.executable).parent)
    envvars = {
        # A checkout's ansible.cfg, or (installed) the settings hib needs beside the user's own.
        **layout.ansible_env(),
        "ANSIBLE_FORCE_COLOR": "0",
        "HIB_RUN_ID": str(run_id),
        "HIB_CANCEL_FILE": str(cancel.cancel_file),
        "HIB_PROGRESS_FILE": str(progress_path(settings, run_id)),
        "HIB_HOME": str(settings.home),
        "HIB_DB_URL": settings.db_url,
        "HIB_CONFIG_STORE": str(settings.config_store),
        "HIB_IMAGE_STORE": settings.image_store,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        # ansible-core imports cryptography's DSA names at every start; that deprecation is not
        # the user's to act on (docs/collection.md). The user's own filters come after, and win.
        "PYTHONWARNINGS": ",".join(
            filter(None, ["ignore:DSA is deprecated:UserWarning", os.environ.get("PYTHONWARNINGS")])
        ),
    }
    if request.strategy:
        envvars["ANSIBLE_STRATEGY"] = request.strategy
    cmdline: list[str] = []
    if request.check:
        cmdline.append("--check")
    tail: list[str] = []
    artifact_dir = private / "artifacts" / str(run_id)

    def handle(event: dict[str, Any]) -> bool:
        if event.get("stdout"):
            tail.append(event["stdout"])
            del tail[:-40]
        on_event(event)
        return True

    def status(data: dict[str, Any], runner_config: Any = None) -> None:
        if data.get("status") == "running":
            _redact_artifacts(artifact_dir)

    thread, runner = ansible_runner.run_async(
        private_data_dir=str(private),
        ident=str(run_id),
        playbook=str(request.playbook.resolve()),
        # ansible-playbook runs in layout.root: inventory files are named from here.
        inventory=[str(Path(i).resolve()) if Path(i).exists() else i for i in request.inventory],
        limit=request.limit,
        forks=request.forks,
        extravars=request.extravars or None,
        cmdline=" ".join(cmdline) or None,
        verbosity=request.verbosity or None,
        envvars=envvars,
        event_handler=handle,
        status_handler=status,
        cancel_callback=lambda: cancel.hard,
        quiet=True,
        suppress_env_files=True,
        rotate_artifacts=KEEP_ARTIFACTS,
        project_dir=str(layout.root),
    )
    thread.join()
    if cancel.hard:
        kill_run_workers(run_id)
    _redact_artifacts(artifact_dir)
    _rotate_private_dirs(settings.runner_dir)
    return RunnerOutcome(
        status=runner.status,
        rc=runner.rc,
        stats=runner.stats,
        hard_canceled=cancel.hard,
        soft_canceled=cancel.soft,
        stdout_tail="".join(f"{line}\n" for line in tail),
    )


# Processes doing a run's work: Ansible's workers (forks of ansible-playbook), the fleet
# strategy's session interpreters and the interpreters image backups run in. The recorder's
# writer is left to close the run.
_WORKER_MARKERS = (b"ansible-playbook", b"hib_orchestrator.devices.pool_worker",
                   b"hib_orchestrator.images.isolated")


def kill_run_workers(run_id: int) -> list[int]:
    """SIGKILL what is left of ``run_id``'s work; returns the pids killed.

    ansible-runner's cancel kills ansible-playbook's process group, but Ansible's workers run
    in sessions of their own and would finish (or hang on) their current host unseen. They all
    carry ``HIB_RUN_ID`` in their environment, which is how they are found.
    """
    tag = f"HIB_RUN_ID={run_id}".encode()
    killed = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if tag in environ and any(m in cmdline for m in _WORKER_MARKERS):
            try:
                os.kill(int(proc.name), signal.SIGKILL)
                killed.append(int(proc.name))
            except ProcessLookupError:
                pass
    return killed


def _rotate_private_dirs(runner_dir: Path) -> None:
    dirs = sorted(
        (d for d in runner_dir.iterdir() if d.is_dir() and d.name.isdigit()),
        key=lambda d: int(d.name),
    )
    for old in dirs[:-KEEP_ARTIFACTS]:
        shutil.rmtree(old, ignore_errors=True)
