"""Human durations (90s, 30m, 24h, 7d, 2w) for ``--stale`` and ``--older-than``."""

from __future__ import annotations

import re

from hib_orchestrator.errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (a number and one unit of s, m, h, d, w).

    Raises:
        ConfigError: ``text`` is not such a duration (exit 2 on the command line).

    >>> parse_duration("24h")
    86400.0
    """
    match = _PATTERN.match(text or "")
    if not match:
        raise ConfigError(
            f"not a duration: {text!r} (use a number and a unit: 90s, 30m, 24h, 7d, 2w)"
        )
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


__all__ = ["parse_duration"]
