"""`hib run` over the lab's image-host stand-ins, and how the live view follows transfers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from sqlalchemy import insert

from hib_orchestrator.db.base import utcnow
from hib_orchestrator.images.models import ImageSnapshot
from hib_orchestrator.orchestration.transfers import running_transfers
from hib_orchestrator.recording import open_engine
from hib_orchestrator.settings import load_settings

from .conftest import HIB, REPO


def test_image_hosts_are_backed_up_then_unchanged(tmp_path: Path) -> None:
    env = {**os.environ, "HIB_HOME": str(tmp_path)}
    env.pop("HIB_RUN_ID", None)

    def hib(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([HIB, *args], env=env, cwd=REPO, capture_output=True, text=True,
                              timeout=300)

    try:
        up = hib("lab", "up", "--devices", "1", "--platforms", "linux", "--providers")
        assert up.returncode == 0, up.stderr
        inventory = up.stdout.strip().splitlines()[-1]
        first = hib("run", "-i", inventory, "--group", "image_hosts", "--json")
        assert first.returncode == 0, first.stderr
        doc = json.loads(first.stdout)
        providers = {h["host"]: h for h in doc["hosts"]}
        assert len(providers) == 8 and {h["kind"] for h in providers.values()} == {"provider"}
        for host in providers.values():
            assert host["status"] == "changed", host
            assert host["objects"]["new"] > 0 and host["objects"]["failed"] == 0
        second = json.loads(hib("run", "-i", inventory, "--group", "image_hosts",
                                "--json").stdout)
        for host in second["hosts"]:
            assert host["status"] == "ok" and host["changed"] is False, host
            assert host["objects"]["new"] == 0 and host["objects"]["unchanged"] > 0
    finally:
        hib("lab", "down")


def test_live_view_reads_running_transfers_of_its_run(tmp_path: Path) -> None:
    settings = load_settings({"HIB_HOME": str(tmp_path)}, cwd=tmp_path)
    engine = open_engine(settings)
    rows = [
        dict(run_id=7, provider="s3-001", status="running", objects_total=100, new=30,
             changed=2, unchanged=10, failed=1, bytes=4096),
        dict(run_id=7, provider="imgur-001", status="successful", objects_total=5, new=5,
             bytes=10),
        dict(run_id=8, provider="smms-001", status="running", objects_total=9, new=1, bytes=1),
    ]
    with engine.begin() as conn:
        for row in rows:
            conn.execute(insert(ImageSnapshot).values(provider_type="s3", started_at=utcnow(),
                                                      **row))
    transfers = running_transfers(engine, 7)
    assert [(t.provider, t.objects_done, t.objects_total, t.bytes_done) for t in transfers] == [
        ("s3-001", 43, 100, 4096)
    ]
