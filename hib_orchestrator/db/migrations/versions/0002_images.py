"""image snapshots, manifest entries, blobs

Revision ID: 0002_images
Revises: 0001_runs
Create Date: 2026-11-24 09:11:38.571057
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hib_orchestrator.db.base import BigId, UTCDateTime

revision = "0002_images"
down_revision = "0001_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_image_blobs")),
    )
    with op.batch_alter_table("image_blobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_blobs_md5"), ["md5"], unique=False)

    op.create_table(
        "image_entries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=128), nullable=False),
        sa.Column("first_seen_snapshot", BigId, nullable=False),
        sa.Column("last_seen_snapshot", BigId, nullable=False),
        sa.Column("first_seen_run", BigId, nullable=True),
        sa.Column("last_seen_run", BigId, nullable=True),
        sa.Column("deleted_upstream", sa.Boolean(), nullable=False),
        sa.Column("deleted_snapshot", BigId, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_entries")),
    )
    with op.batch_alter_table("image_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_image_entries_blob_sha256"), ["blob_sha256"], unique=False
        )
        batch_op.create_index("ix_image_entries_provider_key", ["provider", "key"], unique=False)
        batch_op.create_index(
            "ix_image_entries_provider_last", ["provider", "last_seen_snapshot"], unique=False
        )

    op.create_table(
        "image_snapshots",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("provider", sa.String(length=255), nullable=False),
        sa.Column("provider_type", sa.String(length=32), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("listing_complete", sa.Boolean(), nullable=False),
        sa.Column("objects_total", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("deleted_upstream", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_snapshots")),
    )
    with op.batch_alter_table("image_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_snapshots_provider"), ["provider"], unique=False)
        batch_op.create_index(batch_op.f("ix_image_snapshots_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("image_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_snapshots_run_id"))
        batch_op.drop_index(batch_op.f("ix_image_snapshots_provider"))

    op.drop_table("image_snapshots")
    with op.batch_alter_table("image_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_image_entries_provider_last")
        batch_op.drop_index("ix_image_entries_provider_key")
        batch_op.drop_index(batch_op.f("ix_image_entries_blob_sha256"))

    op.drop_table("image_entries")
    with op.batch_alter_table("image_blobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_blobs_md5"))

    op.drop_table("image_blobs")
