"""The packaged migrations' head revision ids, read from the revision files without alembic.

Kept apart from :mod:`.migrate` (which imports SQLAlchemy) so that the light read path of the
CLI (:mod:`hib_orchestrator.recording.sqlite_reads`) can check a database's schema version with
nothing but the standard library.
"""

from __future__ import annotations

import re
from pathlib import Path

# alembic is imported only when a migration is due: every playbook start checks the schema, and
# importing alembic (and executing every revision file) would cost each run ~0.15 s for nothing.
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def packaged_heads() -> frozenset[str]:
    """The heads of the packaged migrations, read from the revision files without alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev = _REVISION.search(source)
        if rev is None:
            continue
        revisions.add(rev.group(1))
        down = _DOWN.search(source)
        if down is not None:
            parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(revisions - parents)


__all__ = ["MIGRATIONS_DIR", "packaged_heads"]
