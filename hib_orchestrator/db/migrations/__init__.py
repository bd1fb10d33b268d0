"""Alembic migrations of the run database, shipped inside the package (``hib db upgrade``)."""
