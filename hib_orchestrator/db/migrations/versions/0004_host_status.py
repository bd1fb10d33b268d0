"""host_status: one row per host for hib hosts (filled from host_results); run/status index

Revision ID: 0004_host_status
Revises: 0003_run_keys
Create Date: 2026-11-24 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hib_orchestrator.db.types import BigId, UTCDateTime

revision = "0004_host_status"
down_revision = "0003_run_keys"
branch_labels = None
depends_on = None

SUCCESS = ("ok", "changed")


def upgrade() -> None:
    host_status = op.create_table(
        "host_status",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("earlier_success_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_host_status")),
    )
    assert host_status is not None
    _backfill(host_status)
    with op.batch_alter_table("host_results", schema=None) as batch_op:
        batch_op.create_index("ix_host_results_run_id_status", ["run_id", "status"], unique=False)


def _backfill(host_status: sa.Table) -> None:
    # Written out here (not imported from the package) so this revision keeps meaning what it
    # meant when later revisions change the tables: per host, its newest host_results row and
    # the last success among its older rows, its newest
    # known kind.
    hr = sa.table(
        "host_results",
        sa.column("run_id"), sa.column("host"), sa.column("kind"), sa.column("status"),
        sa.column("error_code"), sa.column("finished_at"),
    )
    newest = (
        sa.select(hr.c.host, sa.func.max(hr.c.run_id).label("run_id"))
        .group_by(hr.c.host)
        .subquery("newest")
    )
    kinds = hr.alias("kinds")
    kind = (
        sa.select(kinds.c.kind)
        .where(kinds.c.host == hr.c.host, kinds.c.kind.is_not(None))
        .order_by(kinds.c.run_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    older = hr.alias("older")
    earlier = (
        sa.select(sa.func.max(older.c.finished_at))
        .where(older.c.host == hr.c.host, older.c.run_id < hr.c.run_id,
               older.c.status.in_(SUCCESS))
        .scalar_subquery()
    )
    rows = sa.select(
        hr.c.host, kind, hr.c.run_id, hr.c.status, hr.c.error_code, hr.c.finished_at,
        earlier,
    ).select_from(
        hr.join(newest, sa.and_(newest.c.host == hr.c.host, newest.c.run_id == hr.c.run_id))
    )
    op.execute(
        host_status.insert().from_select(
            ["host", "kind", "run_id", "status", "error_code", "finished_at",
             "earlier_success_at"],
            rows,
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("host_results", schema=None) as batch_op:
        batch_op.drop_index("ix_host_results_run_id_status")
    op.drop_table("host_status")
