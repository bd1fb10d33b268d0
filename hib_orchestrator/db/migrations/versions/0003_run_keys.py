"""idempotency keys of hib run

Revision ID: 0003_run_keys
Revises: 0002_images
Create Date: 2026-11-24 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hib_orchestrator.db.base import BigId, UTCDateTime

revision = "0003_run_keys"
down_revision = "0002_images"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_keys_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_run_keys")),
    )


def downgrade() -> None:
    op.drop_table("run_keys")
