"""Provider tests talk real HTTP (and real git) to the stand-ins, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


class S3Store:
    """A fresh bucket on the S3 stand-in used as the image store (``HIB_IMAGE_STORE=s3://``)."""

    def __init__(self, standins: StandIns, bucket: str, prefix: str) -> None:
        import boto3
        from botocore.config import Config

        _, s3 = standins.provider("s3-001")
        self.endpoint = s3["endpoint"]
        self.access_key, self.secret_key = s3["access_key_id"], s3["secret_access_key"]
        self.bucket, self.prefix = bucket, prefix
        self.url = f"s3://{bucket}/{prefix}"
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )
        self.client.create_bucket(Bucket=bucket)
        self.standins = standins

    def env(self) -> dict[str, str]:
        """What a runner sets to use this store (credentials from the usual AWS variables)."""
        return {
            "HIB_IMAGE_STORE": self.url,
            "HIB_IMAGE_STORE_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def keys(self, under: str) -> dict[str, int]:
        """Object key → size under ``<prefix>/<under>``."""
        out: dict[str, int] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/{under}"
        ):
            out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        return out

    def blob_key(self, sha: str) -> str:
        return f"{self.prefix}/blobs/{sha[:2]}/{sha[2:4]}/{sha}"

    def blob_puts(self) -> list[str]:
        """Paths of PUTs of blob objects into this bucket since the last stand-in reset."""
        mark = f"/{self.bucket}/{self.prefix}/blobs/"
        return [p for m, p in self.standins.requests("s3") if m == "PUT" and mark in p]


@pytest.fixture
def s3_store(
    standins: StandIns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: Any
) -> S3Store:
    """A fresh store bucket, and the environment pointing hib at it (no AWS profile, no IMDS)."""
    import re

    bucket = "store-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    store = S3Store(standins, bucket, "team/images")
    for name, value in store.env().items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return store
