"""Optional dependencies, named by the pip extra that installs them.

A feature that needs an extra checks for it before it starts anything, and a missing one is a
one-line error that says what to install::

    require_extra("hib lab up --providers", "lab", "moto", "werkzeug", "boto3")
    # ConfigError: hib lab up --providers: moto is not installed;
    #              pip install 'hib-orchestrator[lab]'

CLI commands turn the ``ConfigError`` into exit 2; providers pass their own error class
(``UnsupportedProvider``) so the host is recorded with its code and the run goes on.
"""

from __future__ import annotations

import importlib.util

from hib_orchestrator.errors import ConfigError, HibError


def missing_extra(feature: str, module: str, extra: str) -> str:
    """The one line that tells a user which extra brings ``module``."""
    return f"{feature}: {module} is not installed; pip install 'hib-orchestrator[{extra}]'"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a None entry in sys.modules
        return False


def require_extra(
    feature: str, extra: str, *modules: str, error: type[HibError] = ConfigError
) -> None:
    """Raise ``error`` naming ``extra`` unless every one of ``modules`` can be imported.

    Only looks the modules up (no import), so checking costs nothing on the normal path.
    """
    for module in modules:
        if not _installed(module):
            raise error(missing_extra(feature, module, extra))


__all__ = ["missing_extra", "require_extra"]
