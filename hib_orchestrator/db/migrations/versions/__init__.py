"""Alembic revisions, one file each, chained by ``down_revision`` (0001_runs, 0002_images, ...)."""
