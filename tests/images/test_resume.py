"""A backup killed with SIGKILL mid-transfer resumes without re-downloading finished objects."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import boto3
from botocore.config import Config
from sqlalchemy import select

from hib_orchestrator.images import catalog
from hib_orchestrator.images.models import ImageEntry, ImageSnapshot
from hib_orchestrator.standins.imagegen import png

CHILD = """
import json, sys
from hib_orchestrator.images import BackupOptions, backup_host
req = json.loads(sys.argv[1])
backup_host("resume", "s3", req, options=BackupOptions(workers=2, rate_limit=4))
"""


def test_killed_run_resumes_without_refetching(runner, standins) -> None:  # type: ignore[no-untyped-def]
    _, settings = standins.provider("s3-001")
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings["endpoint"],
        aws_access_key_id=settings["access_key_id"],
        aws_secret_access_key=settings["secret_access_key"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    client.create_bucket(Bucket="resume")
    rng = random.Random(3)
    for i in range(40):
        client.put_object(Bucket="resume", Key=f"r/{i:03d}.png", Body=png(rng, 64, 64))
    settings["bucket"] = "resume"

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(settings)],
        env=dict(os.environ),
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        recorded: set[str] = set()
        while len(recorded) < 6 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.2)
            with runner.sessions() as s:
                recorded = set(
                    s.scalars(select(ImageEntry.key).where(ImageEntry.provider == "resume"))
                )
        assert child.poll() is None, child.stderr.read()  # type: ignore[union-attr]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with runner.sessions() as s:
        recorded = set(s.scalars(select(ImageEntry.key).where(ImageEntry.provider == "resume")))
    assert 6 <= len(recorded) < 40
    with runner.sessions() as s:
        killed = s.scalars(select(ImageSnapshot).where(ImageSnapshot.provider == "resume")).one()
    # Progress was visible in the database while the killed run was going.
    assert (killed.status, killed.objects_total) == ("running", 40)
    assert 6 <= killed.new <= len(recorded)
    standins.reset("s3")

    result = runner.run("s3-001", name="resume", bucket="resume")
    assert result.status == "ok" and result.failed == 0
    fetched = {p.removeprefix("/resume/") for p in runner.downloads("s3", "/resume/")}
    assert fetched and not (fetched & recorded)
    assert result.unchanged == len(recorded)
    assert result.new == 40 - len(recorded)
    assert not list(runner.store.tmp.glob("*.part"))
    assert len(catalog.list_objects(runner.sessions, "resume")) == 40
    assert catalog.verify(runner.sessions, runner.store)["corrupt"] == []
    with runner.sessions() as s:
        statuses = list(
            s.scalars(
                select(ImageSnapshot.status)
                .where(ImageSnapshot.provider == "resume")
                .order_by(ImageSnapshot.id)
            )
        )
    assert statuses == ["interrupted", "ok"]
