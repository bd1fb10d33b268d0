"""Refuse to store output that looks cut short, so the last good copy stays the latest.

Three guards, all from the profile (and per-host overrides):

* the platform's end marker (``end``, ``return``) must be the last significant line;
* at least ``min_lines`` significant lines (RANCID refuses 10 or fewer non-comment lines);
* the stored text may not shrink by more than ``max_drop_pct`` percent against the last good
  copy; set ``accept_size_drop`` for one run to take a legitimately large change.
"""

from __future__ import annotations

import re

from hib_orchestrator.devices.filters import significant_lines
from hib_orchestrator.devices.profiles import Profile
from hib_orchestrator.errors import TruncatedOutput


def check_complete(
    profile: Profile,
    text: str,
    previous: str | None,
    *,
    accept_size_drop: bool = False,
    host: str | None = None,
) -> None:
    """Raise :class:`TruncatedOutput` when ``text`` (the text to store) looks incomplete.

    Args:
        profile: the platform profile with overrides applied.
        text: candidate stored text.
        previous: the last good (committed) copy, or ``None`` for a new device.
        accept_size_drop: skip the size-drop guard (a known big change).
        host: for the error.
    """
    lines = significant_lines(profile, text)
    if profile.end_marker and not (lines and re.match(profile.end_marker, lines[-1].strip())):
        raise TruncatedOutput(
            f"end marker {profile.end_marker!r} missing: output looks cut short "
            f"({len(lines)} significant lines)",
            host=host,
        )
    if len(lines) < profile.min_lines:
        raise TruncatedOutput(
            f"only {len(lines)} significant lines (at least {profile.min_lines} expected)",
            host=host,
        )
    if previous and not accept_size_drop:
        before, after = len(previous.encode()), len(text.encode())
        drop = 100.0 * (before - after) / before if before else 0.0
        if drop > profile.max_drop_pct:
            raise TruncatedOutput(
                f"config shrank by {drop:.0f}% ({before} -> {after} bytes; limit "
                f"{profile.max_drop_pct:g}%); set hib_accept_size_drop to take it",
                host=host,
            )
