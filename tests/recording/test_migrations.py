"""Migrations: from empty, from the previous revision, down and up again, and models agree with
them (the ``alembic check`` of CI), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hib_orchestrator.cli import main
from hib_orchestrator.db.base import Base
from hib_orchestrator.db.engine import create_db_engine
from hib_orchestrator.db.migrate import (
    current_revisions,
    downgrade,
    ensure_schema,
    head_revisions,
    import_models,
    upgrade,
)

RUN_TABLES = {"runs", "plays", "tasks", "task_results", "host_results", "config_versions"}


def test_first_revision_is_0001_runs() -> None:
    from alembic.script import ScriptDirectory

    from hib_orchestrator.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert [s.revision for s in script.walk_revisions()][-1] == "0001_runs"


def test_from_empty_to_head_and_models_agree(db_url: str) -> None:
    engine = create_db_engine(db_url)
    before, after = upgrade(engine)
    assert before == ()
    assert set(after) == set(head_revisions())
    assert set(inspect(engine).get_table_names()) >= RUN_TABLES
    import_models()
    with engine.connect() as conn:
        diffs = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diffs == []
    engine.dispose()


def test_from_the_previous_revision_and_back(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine, "0001_runs")
    with engine.connect() as conn:
        assert current_revisions(conn) == ("0001_runs",)
    upgrade(engine)
    downgrade(engine, "base")
    assert not RUN_TABLES & set(inspect(engine).get_table_names())
    ensure_schema(engine)  # auto-upgrade on first use brings it back
    assert set(inspect(engine).get_table_names()) >= RUN_TABLES
    engine.dispose()


def test_hib_db_upgrade(db_url: str, monkeypatch: Any, capsys: Any) -> None:
    import json

    monkeypatch.setenv("HIB_DB_URL", db_url)
    assert main(["db", "upgrade", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["before"] == [] and set(doc["after"]) == set(head_revisions())
    assert main(["db", "upgrade"]) == 0
    assert "was" in capsys.readouterr().out


def test_the_cheap_head_check_agrees_with_alembic() -> None:
    from hib_orchestrator.db.migrate import packaged_heads

    assert packaged_heads() == frozenset(head_revisions())
