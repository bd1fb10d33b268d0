"""``hib images ls/restore/snapshots``, ``hib verify`` and ``hib prune``: the image store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from hib_orchestrator.settings import load_settings

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document.")
SNAPSHOT_OPT = typer.Option(
    None, "--snapshot", help="Run id (or snapshot id) to use; default the latest finished one."
)
INCLUDE_DELETED_OPT = typer.Option(
    False, "--include-deleted", help="Also restore keys deleted upstream (their last version)."
)
TO_OPT = typer.Option(..., "--to", help="Folder to write the objects into (key paths).")


def _api() -> Any:
    # Imported on use: the image engine (and SQLAlchemy's ORM) is too heavy for `hib --help`.
    import hib_orchestrator.images as images
    import hib_orchestrator.images.catalog  # noqa: F401  (a submodule the package leaves out)

    return images


def _emit(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=1, default=str))


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


images = typer.Typer(
    help="Image-host backups in the content-addressed store.", no_args_is_help=True
)


@images.command("ls")
def images_ls(
    provider: str = typer.Argument(..., help="Inventory host name of the provider."),
    snapshot: int | None = SNAPSHOT_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """List the objects of a provider's snapshot (tombstones of deleted keys included)."""
    rows = _api().catalog.list_objects(_api().sessions(load_settings()), provider, snapshot)
    if as_json:
        _emit(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("key", "size", "sha256", "first run", "last run", "deleted", box=None)
    for r in rows:
        table.add_row(
            r["key"],
            _human_size(r["size_bytes"]),
            r["sha256"][:12],
            str(r["first_seen_run"]),
            str(r["last_seen_run"]),
            "yes" if r["deleted_upstream"] else "",
        )
    Console(width=160).print(table)


@images.command("snapshots")
def images_snapshots(
    provider: str | None = typer.Argument(None, help="Only this provider."),
    as_json: bool = JSON_OPT,
) -> None:
    """List snapshots (newest first) with their counts."""
    rows = _api().catalog.list_snapshots(_api().sessions(load_settings()), provider)
    if as_json:
        _emit(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "id",
        "run",
        "provider",
        "status",
        "started",
        "objects",
        "new",
        "changed",
        "deleted",
        "failed",
        box=None,
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["run_id"] or ""),
            r["provider"],
            r["status"],
            str(r["started_at"])[:19],
            str(r["objects_total"]),
            str(r["new"]),
            str(r["changed"]),
            str(r["deleted_upstream"]),
            str(r["failed"]),
        )
    Console(width=160).print(table)


@images.command("restore")
def images_restore(
    provider: str = typer.Argument(..., help="Inventory host name of the provider."),
    to: Path = TO_OPT,
    snapshot: int | None = SNAPSHOT_OPT,
    include_deleted: bool = INCLUDE_DELETED_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Write a snapshot's objects under DIR, each at its full provider key."""
    settings = load_settings()
    api = _api()
    doc = api.catalog.restore(
        api.sessions(settings), api.open_store(settings), provider, to, snapshot, include_deleted
    )
    if as_json:
        _emit(doc)
    else:
        typer.echo(f"restored {doc['files']} files ({_human_size(doc['bytes'])}) to {to}")


def verify(
    sample: float = typer.Option(100.0, "--sample", help="Percent of blobs to re-hash."),
    as_json: bool = JSON_OPT,
) -> None:
    """Re-hash stored image blobs; exit 1 when any is corrupt or missing."""
    settings = load_settings()
    doc = _api().catalog.verify(_api().sessions(settings), _api().open_store(settings), sample)
    if as_json:
        _emit(doc)
    else:
        typer.echo(
            f"checked {doc['checked']} blobs: {len(doc['corrupt'])} corrupt, "
            f"{len(doc['missing'])} missing"
        )
        for sha in doc["corrupt"]:
            typer.echo(f"corrupt {sha}")
        for sha in doc["missing"]:
            typer.echo(f"missing {sha}")
    if doc["corrupt"] or doc["missing"]:
        raise typer.Exit(1)


def prune(
    keep_last: int = typer.Option(..., "--keep-last", help="Keep the N newest snapshots."),
    keep_daily: int = typer.Option(0, "--keep-daily", help="Keep the newest of D days."),
    keep_weekly: int = typer.Option(0, "--keep-weekly", help="Keep the newest of W weeks."),
    as_json: bool = JSON_OPT,
) -> None:
    """Drop image snapshots outside the policy (per provider) and unreferenced blobs."""
    settings = load_settings()
    doc = _api().catalog.prune(
        _api().sessions(settings), _api().open_store(settings), keep_last, keep_daily, keep_weekly
    )
    if as_json:
        _emit(doc)
    else:
        typer.echo(
            f"removed {doc['snapshots_removed']} snapshots, {doc['blobs_removed']} "
            f"blobs ({_human_size(doc['bytes_freed'])} freed)"
        )


def register(app: typer.Typer) -> None:
    """Add ``images``, ``verify`` and ``prune`` to ``app``."""
    app.add_typer(images, name="images")
    app.command("verify")(verify)
    app.command("prune")(prune)
