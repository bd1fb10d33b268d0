from __future__ import annotations

import os

import pytest

from hib_orchestrator.devices.runctx import ENV, ensure_run_id


def test_existing_run_id_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "42")
    assert ensure_run_id() == "42"


def test_missing_run_id_is_generated_once_and_exported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    first = ensure_run_id()
    assert first.startswith("local-") and first.endswith(f"-{os.getpid()}")
    assert os.environ[ENV] == first == ensure_run_id()
