"""Provider tests talk real HTTP (and real git) to the stand-ins, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hib_orchestrator.images import BackupOptions, BackupResult, RetryPolicy, backup
from hib_orchestrator.images.blobstore import BlobStore
from hib_orchestrator.settings import Settings, load_settings
from hib_orchestrator.standins import fleet
from hib_orchestrator.standins.control import StandIns


@pytest.fixture(scope="session")
def standins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIns]:
    directory = tmp_path_factory.mktemp("standins")
    fleet.start(directory, seed=7)
    try:
        yield StandIns(directory)
    finally:
        fleet.stop(directory)


@pytest.fixture(autouse=True)
def _clean_faults(standins: StandIns) -> Iterator[None]:
    standins.reset()
    yield
    standins.reset()


@pytest.fixture
def hib_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HIB_HOME", str(tmp_path / "hib"))
    monkeypatch.delenv("HIB_DB_URL", raising=False)
    monkeypatch.delenv("HIB_IMAGE_STORE", raising=False)
    monkeypatch.delenv("HIB_RUN_ID", raising=False)
    return load_settings()


class Runner:
    """Backs up stand-in hosts into one temporary store."""

    def __init__(self, settings: Settings, standins: StandIns) -> None:
        from hib_orchestrator.images import sessions

        self.settings = settings
        self.standins = standins
        self.store = BlobStore(settings.image_store)
        self.sessions = sessions(settings)
        self.sleeps: list[float] = []

    def _sleep(self, seconds: float) -> None:
        import time

        self.sleeps.append(seconds)
        time.sleep(seconds)

    def downloads(self, server: str, marker: str) -> list[str]:
        """Paths of GETs whose path contains ``marker`` (object downloads)."""
        return [p for m, p in self.standins.requests(server) if m == "GET" and marker in p]

    def run(
        self, host: str, *, name: str | None = None, attempts: int = 4, **overrides: object
    ) -> BackupResult:
        provider, settings = self.standins.provider(host)
        settings.update(overrides)
        options = BackupOptions(
            workers=4, retry=RetryPolicy(attempts=attempts, base=0.05, sleep=self._sleep)
        )
        return backup(
            name or host,
            provider,
            settings,
            store=self.store,
            sessions=self.sessions,
            options=options,
        )


@pytest.fixture
def runner(hib_settings: Settings, standins: StandIns) -> Runner:
    return Runner(hib_settings, standins)
