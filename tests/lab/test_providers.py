"""`hib lab up --providers`: image-host stand-ins beside the devices, in status, inventory,
secrets, and gone after `down`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from .conftest import hib

PROVIDERS = {"s3", "oss", "cos", "github", "smms", "imgur", "local"}


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_providers_join_the_lab_and_leave_with_it(tmp_path: Path) -> None:
    try:
        up = hib(tmp_path, "lab", "up", "--devices", "2", "--providers")
        inventory = Path(up.stdout.strip().splitlines()[-1])
        doc = yaml.safe_load(inventory.read_text())
        image_hosts = doc["all"]["children"]["image_hosts"]["hosts"]
        assert {v["hib_provider"] for v in image_hosts.values()} == PROVIDERS
        assert set(doc["all"]["children"]["network"]["children"])  # devices are still there

        status = json.loads(hib(tmp_path, "lab", "status", "--json").stdout)
        rows = {r["host"]: r for r in status["providers"]}
        assert set(rows) == set(image_hosts)
        s3 = next(r for r in rows.values() if r["provider"] == "s3")
        try:  # a live S3 endpoint: it answers (anonymous listing is refused)
            with urllib.request.urlopen(s3["endpoint"], timeout=10) as resp:
                code = resp.status
        except urllib.error.HTTPError as err:
            code = err.code
        assert code in (200, 403)

        secrets = set(hib(tmp_path, "lab", "secrets").stdout.split())
        planted = [v for hv in image_hosts.values() for k, v in hv.items()
                   if isinstance(v, str) and any(w in k for w in ("secret", "token"))]
        assert planted and set(planted) <= secrets

        again = hib(tmp_path, "lab", "up", "--devices", "2")  # idempotent, providers stay
        assert "image_hosts" in yaml.safe_load(Path(again.stdout.strip().splitlines()[-1])
                                               .read_text())["all"]["children"]
        state = json.loads((tmp_path / "lab" / "providers" / "standins.json").read_text())
        pid = int(state["pid"])
        assert _pid_alive(pid)
    finally:
        hib(tmp_path, "lab", "down")
    assert not _pid_alive(pid)
    assert json.loads(hib(tmp_path, "lab", "status", "--json").stdout)["providers"] == []
