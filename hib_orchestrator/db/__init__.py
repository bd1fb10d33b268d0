"""The run database: SQLAlchemy 2 typed models, engine setup and alembic migrations."""
