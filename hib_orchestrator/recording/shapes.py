"""The read side's JSON-ready documents, built the same way by both read paths.

:mod:`.queries` (SQLAlchemy Core, every backend) and :mod:`.sqlite_reads` (the standard library's
``sqlite3``, what the read commands use on SQLite) fetch the same rows; this module turns those
rows into the contract's dicts, so the two paths cannot drift apart. No SQLAlchemy here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

DEFAULT_STALE_S = 24 * 3600.0
COUNTED = ("ok", "changed", "failed", "unreachable", "skipped")
HOST_FIELDS = ("host", "kind", "status", "changed", "error_code", "error_message", "duration_s",
               "attempts", "sha256", "size_bytes", "commit", "objects")
VERSION_FIELDS = ("commit", "run_id", "committed_at", "sha256", "size_bytes")


def iso(value: datetime | str | None) -> str | None:
    """ISO 8601 UTC with a ``Z`` (``None`` stays ``None``).

    A ``str`` is SQLite's stored text of a UTC time (``2026-11-24 09:12:22.149000``), what the
    ``sqlite3`` read path gets: ``iso("2026-11-24 09:12:22.149000") == "2026-11-24T09:12:22.149Z"``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return _iso_text(value, datetime.fromisoformat(value))
    return _iso_utc(value.astimezone(UTC))


def _iso_text(value: str, naive: datetime) -> str:
    if len(value) == 26 and value[10] == " ":
        return f"{value[:10]}T{value[11:23]}Z"
    return naive.isoformat(timespec="milliseconds") + "Z"


def _iso_utc(value: datetime) -> str:
    # value is aware UTC: isoformat ends in "+00:00".
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def iso_and_age(value: datetime | str, now: datetime, naive_now: datetime) -> tuple[str, float]:
    """ISO text and age in seconds of an untyped UTC time column value.

    SQLite gives the stored text (naive UTC, ``2026-11-24 09:12:22.149000``): it is cut into
    ISO form rather than formatted, and aged against ``naive_now`` (``now`` without tzinfo), because
    ``datetime.replace(tzinfo=)`` and ``isoformat(timespec=)`` cost ~1 us each, a third of
    ``hib hosts`` at 10,000 hosts. PostgreSQL gives an aware datetime.
    """
    if isinstance(value, str):
        naive = datetime.fromisoformat(value)
        return _iso_text(value, naive), (naive_now - naive).total_seconds()
    value = value.astimezone(UTC)
    return _iso_utc(value), (now - value).total_seconds()


def run_summaries(
    found: Iterable[Mapping[Any, Any]], counts: Mapping[int, Mapping[str, int]]
) -> list[dict[str, Any]]:
    """``hib runs`` rows: each run (``id``, ``status``, times, ``playbook``, ``recording_error``)
    with its per-status host counts."""
    return [
        {
            "id": r["id"],
            "status": r["status"],
            "started_at": iso(r["started_at"]),
            "finished_at": iso(r["finished_at"]),
            "playbook": r["playbook"],
            "hosts_total": sum(counts[r["id"]].values()),
            **{s: counts[r["id"]][s] for s in COUNTED},
            "recording_error": r["recording_error"],
        }
        for r in found
    ]


def run_document(run: Mapping[Any, Any], hosts: list[dict[str, Any]]) -> dict[str, Any]:
    """``hib runs show``: the run and its host rows (dicts of :data:`HOST_FIELDS`)."""
    return {
        "id": run["id"],
        "status": run["status"],
        "started_at": iso(run["started_at"]),
        "finished_at": iso(run["finished_at"]),
        "playbook": run["playbook"],
        "recording_error": run["recording_error"],
        "hosts": hosts,
    }


def host_statuses(
    rows: Iterable[tuple[str, str | None, str, datetime | str | None]],
    *,
    stale_after_s: float,
    only_stale: bool,
) -> list[dict[str, Any]]:
    """``hib hosts`` rows from ``(host, kind, status, last success)`` tuples."""
    now = datetime.now(UTC)
    naive_now = now.replace(tzinfo=None)
    out = []
    for host, kind, status, success in rows:
        if success is None:
            last, age, stale = None, None, True
        else:
            last, seconds = iso_and_age(success, now, naive_now)
            age = round(seconds, 1)
            stale = age > stale_after_s
        if only_stale and not stale:
            continue
        out.append(
            {
                "host": host,
                "kind": kind,
                "last_status": status,
                "last_success_at": last,
                "age_s": age,
                "stale": stale,
            }
        )
    return out


def versions(rows: Iterable[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    """``hib history`` rows from ``config_versions`` rows."""
    return [
        {
            "commit": v["commit"],
            "run_id": v["run_id"],
            "committed_at": iso(v["committed_at"]),
            "sha256": v["sha256"],
            "size_bytes": v["size_bytes"],
        }
        for v in rows
    ]


__all__ = [
    "COUNTED",
    "DEFAULT_STALE_S",
    "HOST_FIELDS",
    "VERSION_FIELDS",
    "host_statuses",
    "iso",
    "iso_and_age",
    "run_document",
    "run_summaries",
    "versions",
]
