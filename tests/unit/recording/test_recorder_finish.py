"""Who may close a run: its owner over running/interrupted, an observer only over running."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from hib_orchestrator.db.engine import create_db_engine
from hib_orchestrator.db.migrate import ensure_schema
from hib_orchestrator.db.models import HostResult, Run
from hib_orchestrator.recording import Recorder


def _status(engine: object, run_id: int) -> str:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return str(conn.execute(select(Run.status).where(Run.id == run_id)).scalar_one())


def test_end_of_input_does_not_overwrite_a_status_set_by_hib_run(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hib.db'}")
    ensure_schema(engine)
    rec = Recorder(engine, flush_interval=0.05)
    run_id = rec.start_run("pb.yml")
    rec.task_start("t", "task", "debug")
    rec.result("t", "h1", "ok", {})
    with engine.begin() as conn:  # hib run decided first
        conn.execute(update(Run).where(Run.id == run_id).values(status="canceled"))
    rec.finish("interrupted", replaces=("running",))
    assert _status(engine, run_id) == "canceled"
    with engine.connect() as conn:  # the results still arrived
        assert conn.execute(select(HostResult.host)).scalars().all() == ["h1"]


def test_the_owner_corrects_a_wrong_interrupted(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hib.db'}")
    ensure_schema(engine)
    rec = Recorder(engine, flush_interval=0.05)
    run_id = rec.start_run("pb.yml")
    with engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == run_id).values(status="interrupted"))
    rec.finish("successful")
    assert _status(engine, run_id) == "successful"
