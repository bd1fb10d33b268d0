"""What the read commands print: tables for people and one JSON document for machines.

No typer here: the light read path (:mod:`.quick`) prints through these too, so both paths
print the same bytes. rich loads only for the small tables it draws (see :mod:`.tables`).
"""

from __future__ import annotations

import sys
from typing import Any

from hib_orchestrator.cli.tables import Col, Grid


def emit_json(doc: Any) -> None:
    """Write ``doc`` as indented JSON on stdout."""
    # orjson: the same indented text as json.dumps(indent=2, ensure_ascii=False), ~10x faster
    # (json's indenting encoder is pure Python: 0.15 s for the 3.7 MB of a 10,000-host run).
    import orjson

    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _short_ts(value: str | None) -> str:
    # "2026-11-24T09:12:22.149Z" -> "2026-11-24 09:12:22": tables stay narrow.
    return "-" if value is None else value[:19].replace("T", " ")


def _took(run: dict[str, Any]) -> str:
    from datetime import datetime

    if not run["started_at"] or not run["finished_at"]:
        return "-"
    start = datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(run["finished_at"].replace("Z", "+00:00"))
    return _human_age((end - start).total_seconds())


def runs_table(runs: list[dict[str, Any]]) -> Grid:
    """``hib runs``."""
    grid = Grid("runs (newest first)", [
        Col("id", right=True), Col("status", styled=True), Col("started (UTC)"),
        Col("took", right=True), Col("playbook", fold=True),
        *(Col(name, right=True) for name in ("hosts", "ok", "chg", "fail", "unr")),
    ])
    for r in runs:
        grid.rows.append([
            str(r["id"]), r["status"], _short_ts(r["started_at"]), _took(r),
            _cell(r["playbook"]), str(r["hosts_total"]), str(r["ok"]), str(r["changed"]),
            str(r["failed"]), str(r["unreachable"]),
        ])
    return grid


def run_table(run: dict[str, Any]) -> Grid:
    """``hib runs show``."""
    title = (
        f"run {run['id']} {run['status']}  {run['playbook'] or ''}  "
        f"{_short_ts(run['started_at'])} UTC, took {_took(run)}"
    )
    if run.get("recording_error"):
        title += f"\nrecording error: {run['recording_error']}"
    grid = Grid(title, [
        Col("host"), Col("kind"), Col("status", styled=True), Col("error", fold=True),
        Col("s", right=True), Col("try", right=True), Col("commit"),
    ])
    for h in run["hosts"]:
        error = f"{h['error_code'] or ''} {h['error_message'] or ''}".strip() or "-"
        error = error if len(error) <= 80 else error[:79] + "..."
        grid.rows.append([
            h["host"], _cell(h["kind"]), h["status"], error,
            _cell(h["duration_s"]), _cell(h["attempts"]), (h["commit"] or "-")[:10],
        ])
    return grid


def hosts_table(hosts: list[dict[str, Any]], stale_label: str) -> Grid:
    """``hib hosts``."""
    grid = Grid(f"hosts (stale: no success within {stale_label})", [
        Col("host"), Col("kind"), Col("last status", styled=True), Col("last success (UTC)"),
        Col("age", right=True), Col("stale", styled=True),
    ])
    for h in hosts:
        age = h["age_s"]
        grid.rows.append([
            h["host"], _cell(h["kind"]), _cell(h["last_status"]),
            _short_ts(h["last_success_at"]),
            "-" if age is None else _human_age(age),
            "stale" if h["stale"] else "fresh",
        ])
    return grid


def _human_age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def history_table(host: str, versions: list[dict[str, Any]]) -> Grid:
    """``hib history HOST``."""
    grid = Grid(f"config history of {host} (newest first)", [
        Col("commit"), Col("run"), Col("committed (UTC)"), Col("sha256"), Col("bytes"),
    ])
    for v in versions:
        grid.rows.append([
            v["commit"][:12], _cell(v["run_id"]), _short_ts(v["committed_at"]),
            (v["sha256"] or "-")[:12], _cell(v["size_bytes"]),
        ])
    return grid


__all__ = ["emit_json", "history_table", "hosts_table", "run_table", "runs_table"]
