"""Diffs a person wants to read: volatile lines left out.

The store keeps each config as fetched (after delete-before-storing and masking), so a commit
made for one real change also carries the new timestamp lines. :func:`significant_diff` drops
changed lines that match any platform's *ignore-when-comparing* patterns from a unified diff,
and hunks left with no change at all, so ``hib diff`` shows what really changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hib_orchestrator.devices.profiles import registry

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")


def volatile_patterns() -> tuple[re.Pattern[str], ...]:
    """Every registered platform's volatile-line patterns, compiled once each.

    Ignore-when-comparing lines, and delete-before-storing ones too: copies stored before a
    pattern was added to a profile may still carry them.
    """
    reg = registry()
    found: dict[str, re.Pattern[str]] = {}
    for name in reg.names():
        profile = reg.get(name)
        for pattern in (*profile.ignore_lines, *profile.delete_lines):
            found.setdefault(pattern, re.compile(pattern))
    return tuple(found.values())


def _filter_hunk(lines: list[str], patterns: Iterable[re.Pattern[str]]) -> list[str] | None:
    """A hunk without its volatile changes, header counts recomputed; None if nothing is left."""
    match = _HUNK.match(lines[0])
    if match is None:
        return lines
    pats = tuple(patterns)
    kept = [line for line in lines[1:]
            if line[:1] not in "+-" or not any(p.search(line[1:]) for p in pats)]
    if not any(line[:1] in "+-" for line in kept):
        return None
    old = sum(1 for line in kept if line[:1] in " -")
    new = sum(1 for line in kept if line[:1] in " +")
    return [f"@@ -{match.group(1)},{old} +{match.group(2)},{new} @@{match.group(3)}", *kept]


def significant_diff(text: str, patterns: Iterable[re.Pattern[str]] | None = None) -> str:
    """``text`` (a unified diff) without changes to volatile lines; '' when nothing is left."""
    pats = tuple(volatile_patterns() if patterns is None else patterns)
    header: list[str] = []
    hunks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("@@"):
            hunks.append([line])
        elif hunks:
            hunks[-1].append(line)
        else:
            header.append(line)
    kept = [h for h in (_filter_hunk(hunk, pats) for hunk in hunks) if h]
    if not kept:
        return ""
    return "\n".join([*header, *(line for hunk in kept for line in hunk)]) + "\n"
