"""Where hib keeps its state, resolved in exactly one place.

The recorder callback, the action plugins and the ``hib`` CLI all call :func:`load_settings`, so
they agree on paths whatever process they run in::

    >>> s = load_settings({"HIB_HOME": "/srv/hib"})
    >>> s.db_url
    'sqlite:////srv/hib/hib.db'

| setting          | default                          | environment variable |
|------------------|----------------------------------|----------------------|
| state directory  | ``./.hib``                       | ``HIB_HOME``         |
| run database     | ``sqlite:///$HIB_HOME/hib.db``   | ``HIB_DB_URL``       |
| config store     | ``$HIB_HOME/configs``            | ``HIB_CONFIG_STORE`` |
| image store      | ``$HIB_HOME/images``             | ``HIB_IMAGE_STORE`` (or ``s3://b/p``) |
| S3 store endpoint| AWS's                            | ``HIB_IMAGE_STORE_ENDPOINT`` |
| S3 store region  | boto3's, else ``us-east-1``      | ``HIB_IMAGE_STORE_REGION`` |
| image store lock | wait 60 s, then ``STORE_LOCKED`` | ``HIB_IMAGE_STORE_LOCK_TIMEOUT`` (seconds) |
| S3 prune's wait  | 3600 s for running backups       | ``HIB_IMAGE_STORE_PRUNE_WAIT`` (seconds) |
| policy file      | ``./hib.yml``                    | ``HIB_POLICY_FILE``  |
| config remote    | none                             | ``HIB_CONFIG_REMOTE``|
| log format       | ``text``                         | ``HIB_LOG_FORMAT`` (``text``/``json``) |
| log level        | ``WARNING``                      | ``HIB_LOG_LEVEL``    |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hib_orchestrator.errors import ConfigError

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved, absolute settings. Build with :func:`load_settings`, not directly."""

    home: Path
    db_url: str
    config_store: Path
    image_store: str
    policy_file: Path
    config_remote: str | None = None
    log_format: str = "text"
    log_level: str = "WARNING"
    image_store_endpoint: str | None = None
    image_store_region: str | None = None
    image_store_lock_timeout: float = 60.0
    image_store_prune_wait: float = 3600.0

    @property
    def image_store_is_local(self) -> bool:
        """True when the image store is a folder (else an ``s3://`` URL, checked on open)."""
        return "://" not in self.image_store

    @property
    def lab_dir(self) -> Path:
        """Where ``hib lab`` keeps its state (inventory, device state, pid file)."""
        return self.home / "lab"

    @property
    def runner_dir(self) -> Path:
        """ansible-runner private data directories for ``hib run``."""
        return self.home / "runner"


def _path(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def load_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Resolve settings from the environment (default ``os.environ``).

    Raises:
        ConfigError: a value is malformed (unknown log format, unparseable DB URL, ...).
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    home = _path(env.get("HIB_HOME") or ".hib", cwd)
    db_url = env.get("HIB_DB_URL") or f"sqlite:///{home / 'hib.db'}"
    _check_db_url(db_url)
    image_store = env.get("HIB_IMAGE_STORE") or str(home / "images")
    if "://" not in image_store:
        image_store = str(_path(image_store, cwd))
    log_format = (env.get("HIB_LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(
            f"HIB_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}"
        )
    log_level = (env.get("HIB_LOG_LEVEL") or "WARNING").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(
            f"HIB_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}"
        )
    return Settings(
        home=home,
        db_url=db_url,
        config_store=_path(env.get("HIB_CONFIG_STORE") or str(home / "configs"), cwd),
        image_store=image_store,
        policy_file=_path(env.get("HIB_POLICY_FILE") or "hib.yml", cwd),
        config_remote=_config_remote(env.get("HIB_CONFIG_REMOTE") or None),
        log_format=log_format,
        log_level=log_level,
        image_store_endpoint=env.get("HIB_IMAGE_STORE_ENDPOINT") or None,
        image_store_region=env.get("HIB_IMAGE_STORE_REGION") or None,
        image_store_lock_timeout=_seconds(env, "HIB_IMAGE_STORE_LOCK_TIMEOUT", 60.0),
        image_store_prune_wait=_seconds(env, "HIB_IMAGE_STORE_PRUNE_WAIT", 3600.0),
    )


def _config_remote(url: str | None) -> str | None:
    if url is None:
        return None
    from hib_orchestrator.configstore.remote import check_remote_url

    return check_remote_url(url)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name) or ""
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"{name} must be a number of seconds >= 0, not {raw!r}")
    return value


def _check_db_url(url: str) -> None:
    if url.startswith("sqlite:///"):
        # Always a URL (the rest is the file's path): the CLI's sqlite3 read path would
        # otherwise import SQLAlchemy (~0.2 s) only to parse it.
        return
    # Imported lazily: settings are loaded by every Ansible worker, SQLAlchemy is not needed there.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError as err:
        raise ConfigError(f"HIB_DB_URL is not a database URL: {url!r}") from err
