"""The action plugin through a real ``ansible-playbook`` run against the stand-ins."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = Path(__file__).parent / "data" / "provider_images.yml"
HOSTS = ("s3-001", "github-001", "smms-001", "imgur-001")


@pytest.fixture
def inventory(standins, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    hosts = {h: standins.hosts[h] for h in HOSTS}
    hosts["smms-bad"] = {**standins.hosts["smms-001"], "hib_token": "smms-not-a-valid-token"}
    hosts["nowhere-001"] = {"hib_provider": "flickr", "ansible_connection": "local"}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"image_hosts": {"hosts": hosts}}}}))
    return path


def _play(
    inventory: Path, results: Path, home: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    results.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HIB_HOME": str(home), "ANSIBLE_NOCOLOR": "1"}
    env.pop("HIB_RUN_ID", None)
    bin_dir = str(Path(os.sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        [
            f"{bin_dir}/ansible-playbook",
            "-i",
            str(inventory),
            str(PLAYBOOK),
            "-vvv",
            "-e",
            f"results_dir={results}",
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _results(directory: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {p.stem: json.loads(p.read_text()) for p in directory.glob("*.json")}


def test_playbook_backs_up_reports_and_never_leaks_credentials(
    standins,
    inventory,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    home = tmp_path / "hib"
    first = _play(inventory, tmp_path / "r1", home)
    assert first.returncode == 2, first.stdout[-3000:]
    r1 = _results(tmp_path / "r1")
    for host in HOSTS:
        assert r1[host]["hib_kind"] == "provider"
        assert r1[host]["changed"] is True, r1[host]
        assert r1[host]["objects"]["new"] > 0 and r1[host]["objects"]["failed"] == 0
    assert r1["smms-bad"]["failed"] is True and r1["smms-bad"]["error_code"] == "AUTH_FAILED"
    assert r1["nowhere-001"]["error_code"] == "UNSUPPORTED_PROVIDER"

    second = _play(inventory, tmp_path / "r2", home)
    r2 = _results(tmp_path / "r2")
    for host in HOSTS:
        assert r2[host]["changed"] is False
        assert r2[host]["objects"]["new"] == 0 and r2[host]["objects"]["bytes"] == 0
        assert r2[host]["objects"]["unchanged"] == r1[host]["objects"]["new"]

    check = _play(inventory, tmp_path / "r3", home, "--check")
    r3 = _results(tmp_path / "r3")
    assert check.returncode == 2
    for host in HOSTS:
        assert r3[host]["changed"] is False and r3[host]["msg"].startswith("check mode")
        assert r3[host]["objects"]["unchanged"] == r1[host]["objects"]["new"]

    secrets = [s for s in standins.secrets if s]
    assert secrets
    haystacks = {"ansible output": "".join(p.stdout + p.stderr for p in (first, second, check))}
    for path in [*home.rglob("*"), *tmp_path.glob("r*/*")]:
        if path.is_file():
            haystacks[str(path)] = path.read_bytes().decode("latin-1")
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"planted secret leaked into {where}"
