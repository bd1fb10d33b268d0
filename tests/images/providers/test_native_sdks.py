"""oss-sdk (oss2) and cos-sdk (qcloud_cos) against the moto stand-in, over real HTTP.

The stand-in serves moto's S3 app directly behind ``NativeSdkShim``; the same buckets the
``oss``/``cos`` presets read through boto3 are read here through the vendors' own SDKs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.config import Config

from hib_orchestrator.errors import ConfigError, ErrorCode, UnsupportedProvider
from hib_orchestrator.images import BackupOptions, BackupResult, RetryPolicy, backup, catalog
from hib_orchestrator.providers import Provider, default_registry
from hib_orchestrator.standins.control import StandIns

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "tests" / "images" / "data" / "provider_images.yml"
# provider name, stand-in host whose settings it reuses, a fresh bucket name for extra tests
SDKS = [
    pytest.param("oss-sdk", "oss-001", "sdk-names", id="oss-sdk"),
    pytest.param("cos-sdk", "cos-001", "sdk-names-1250000000", id="cos-sdk"),
]
NESTED = {
    "a.png": b"root" * 100,
    "2023/a.png": b"twenty-three" * 90,
    "2024/a.png": b"twenty-four" * 80,
    "deep/er/2023/a.png": b"deeper" * 70,
    "albums/trip day/ä+b.png": b"odd name" * 60,
}


def _boto(standins: StandIns):  # type: ignore[no-untyped-def]
    _, s = standins.provider("s3-001")
    return boto3.session.Session().client(
        "s3",
        endpoint_url=s["endpoint"],
        aws_access_key_id=s["access_key_id"],
        aws_secret_access_key=s["secret_access_key"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def _run(runner, provider: str, host: str, name: str | None = None, **overrides) -> BackupResult:  # type: ignore[no-untyped-def]
    _, settings = runner.standins.provider(host)
    settings.pop("addressing_style", None)
    settings.update(overrides)
    options = BackupOptions(
        workers=4, retry=RetryPolicy(attempts=4, base=0.05, sleep=runner._sleep)
    )
    return backup(
        name or f"{provider}-{host}",
        provider,
        settings,
        store=runner.store,
        sessions=runner.sessions,
        options=options,
    )


def _object_gets(standins: StandIns, bucket: str, keys: list[str]) -> list[str]:
    """GETs of objects (not listings); oss2 addresses path-style, the COS SDK by Host header."""
    gets = [p for m, p in standins.requests("s3") if m == "GET"]
    return [p for p in gets if p.removeprefix(f"/{bucket}").lstrip("/") in keys]


def _upstream(standins: StandIns, bucket: str) -> dict[str, str]:
    """key → sha256 of every object in ``bucket``, read through boto3."""
    client = _boto(standins)
    out = {}
    for item in client.list_objects_v2(Bucket=bucket)["Contents"]:
        body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        out[item["Key"]] = hashlib.sha256(body).hexdigest()
    client.close()
    return out


@pytest.mark.parametrize(("provider", "host", "_spare"), SDKS)
def test_full_backup_matches_upstream_then_no_change_run_downloads_nothing(
    runner, standins, provider, host, _spare
) -> None:  # type: ignore[no-untyped-def]
    bucket = standins.provider(host)[1]["bucket"]
    upstream = _upstream(standins, bucket)
    standins.reset("s3")

    first = _run(runner, provider, host)
    assert first.status == "ok", first.error_message
    assert (first.new, first.failed) == (len(upstream), 0) and first.bytes > 0
    assert len(_object_gets(standins, bucket, list(upstream))) == len(upstream)
    stored = {r["key"]: r["sha256"] for r in catalog.list_objects(runner.sessions, first.provider)}
    assert stored == upstream
    # Every entry kept the native MD5 (lower case), so a later run compares without HEADs.
    rows = catalog.list_objects(runner.sessions, first.provider)
    assert all(len(r["etag"]) == 32 and r["etag"] == r["etag"].lower() for r in rows)
    standins.reset("s3")

    second = _run(runner, provider, host)
    assert second.status == "ok"
    assert (second.new, second.changed, second.unchanged, second.bytes) == (0, 0, len(upstream), 0)
    assert _object_gets(standins, bucket, list(upstream)) == []
    assert not [r for r in standins.requests("s3") if r[0] == "HEAD"]


@pytest.mark.parametrize(("provider", "host", "bucket"), SDKS)
def test_nested_keys_with_equal_basenames_stay_apart_across_pages(
    runner, standins, provider, host, bucket
) -> None:  # type: ignore[no-untyped-def]
    client = _boto(standins)
    if bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=bucket)
        for key, data in NESTED.items():
            client.put_object(Bucket=bucket, Key=key, Body=data)
    client.close()
    standins.reset("s3")

    result = _run(runner, provider, host, name=f"{provider}-nested", bucket=bucket, page_size=2)
    assert (result.status, result.new, result.failed) == ("ok", len(NESTED), 0)
    rows = catalog.list_objects(runner.sessions, f"{provider}-nested")
    assert {r["key"]: r["sha256"] for r in rows} == {
        k: hashlib.sha256(v).hexdigest() for k, v in NESTED.items()
    }
    # Five keys at two per page: three listing requests (continuation tokens / markers).
    gets = [p for m, p in standins.requests("s3") if m == "GET"]
    listings = [p for p in gets if p.rstrip("/") in ("", f"/{bucket}")]
    assert len(listings) == 3


@pytest.mark.parametrize(("provider", "host", "_spare"), SDKS)
def test_wrong_access_key_is_auth_failed(runner, provider, host, _spare) -> None:  # type: ignore[no-untyped-def]
    result = _run(runner, provider, host, access_key_id="AKIAWRONGWRONGWRONG")
    assert result.status == "failed"
    assert result.error_code == ErrorCode.AUTH_FAILED
    assert "AKIAWRONG" not in (result.error_message or "")


@pytest.mark.parametrize(
    ("provider", "host", "bucket"),
    [("oss-sdk", "oss-001", "no-such-bucket"), ("cos-sdk", "cos-001", "nosuch-1250000000")],
)
def test_missing_bucket_is_not_found(runner, provider, host, bucket) -> None:  # type: ignore[no-untyped-def]
    result = _run(runner, provider, host, bucket=bucket)
    assert result.status == "failed"
    assert result.error_code == ErrorCode.NOT_FOUND


@pytest.mark.parametrize(("provider", "host", "_spare"), SDKS)
def test_429_retry_after_is_honoured(runner, standins, provider, host, _spare) -> None:  # type: ignore[no-untyped-def]
    prefix = provider.split("-")[0]
    standins.fault("s3", "429", match=f"{prefix}/a/img-001", times=1, retry_after=1.5)
    result = _run(runner, provider, host)
    assert result.status == "ok" and result.failed == 0
    assert max(runner.sleeps) >= 1.5


@pytest.mark.parametrize(("provider", "host", "_spare"), SDKS)
@pytest.mark.parametrize(("kind", "code"), [("cut", "NETWORK"), ("length", "CHECKSUM_MISMATCH")])
def test_bad_bodies_are_retried_then_reported(
    runner, standins, provider, host, _spare, kind, code
) -> None:  # type: ignore[no-untyped-def]
    prefix = provider.split("-")[0]
    standins.fault("s3", kind, match=f"{prefix}/a/img-000", times=10)
    broken = _run(runner, provider, host)
    assert broken.status == "partial"
    assert (broken.failed, broken.new) == (1, 9)
    assert broken.error_code == code
    assert broken.failures[0]["key"].startswith(f"{prefix}/a/img-000")
    if kind == "length":  # caught by the SDK provider's CRC-64 check, before the engine's MD5
        assert "CRC-64" in broken.failures[0]["message"]
    assert not list(runner.store.tmp.glob("*.part"))
    standins.reset("s3")

    # One bad body, then a good one: the retry heals it and only the missing object is fetched.
    standins.fault("s3", kind, match=f"{prefix}/a/img-000", times=1)
    healed = _run(runner, provider, host)
    assert (healed.status, healed.new, healed.unchanged) == ("ok", 1, 9)
    assert len([p for m, p in standins.requests("s3") if m == "GET" and "img-000" in p]) == 2


@pytest.mark.parametrize(("provider", "host", "bucket"), SDKS)
def test_multipart_objects_are_verified_by_crc64(runner, standins, provider, host, bucket) -> None:  # type: ignore[no-untyped-def]
    mp_bucket = f"mp-{bucket}"
    client = _boto(standins)
    if mp_bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=mp_bucket)
        upload = client.create_multipart_upload(Bucket=mp_bucket, Key="big/one.png")
        part = client.upload_part(
            Bucket=mp_bucket,
            Key="big/one.png",
            UploadId=upload["UploadId"],
            PartNumber=1,
            Body=b"multipart" * 500,
        )
        client.complete_multipart_upload(
            Bucket=mp_bucket,
            Key="big/one.png",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
        )
    client.close()

    standins.fault("s3", "length", match="big/one.png", times=10)
    broken = _run(runner, provider, host, name=f"{provider}-mp-broken", bucket=mp_bucket)
    assert (broken.failed, broken.error_code) == (1, ErrorCode.CHECKSUM_MISMATCH)
    assert "CRC-64" in broken.failures[0]["message"]
    standins.reset("s3")

    good = _run(runner, provider, host, name=f"{provider}-mp", bucket=mp_bucket)
    assert (good.status, good.new) == ("ok", 1)
    (row,) = catalog.list_objects(runner.sessions, f"{provider}-mp")
    assert row["etag"].endswith("-1")  # not an MD5: only size and the CRC-64 could verify it
    assert row["sha256"] == hashlib.sha256(b"multipart" * 500).hexdigest()


@pytest.mark.parametrize(("provider", "host", "bucket"), SDKS)
def test_gzip_encoded_objects_are_stored_as_held(runner, standins, provider, host, bucket) -> None:  # type: ignore[no-untyped-def]
    gz_bucket, body = f"gz-{bucket}", gzip.compress(b"<svg/>" * 300, mtime=0)
    client = _boto(standins)
    if gz_bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=gz_bucket)
        client.put_object(Bucket=gz_bucket, Key="logo.svg", Body=body, ContentEncoding="gzip")
    client.close()
    result = _run(runner, provider, host, name=f"{provider}-gz", bucket=gz_bucket)
    # A transparently gunzipped body would fail the MD5/CRC-64 checks and never be stored.
    assert (result.status, result.new) == ("ok", 1), result.failures
    (row,) = catalog.list_objects(runner.sessions, f"{provider}-gz")
    assert row["sha256"] == hashlib.sha256(body).hexdigest()


def test_oss_signature_v1_works_too(runner) -> None:  # type: ignore[no-untyped-def]
    result = _run(runner, "oss-sdk", "oss-001", signature_version="v1")
    assert (result.status, result.new) == ("ok", 10)


@pytest.mark.parametrize(
    ("provider", "settings", "needle"),
    [
        ("oss-sdk", {}, "bucket"),
        ("oss-sdk", {"bucket": "b", "signature_version": "v3"}, "signature_version"),
        ("oss-sdk", {"bucket": "Bad_Name"}, "bucket"),
        ("cos-sdk", {"bucket": "plainname"}, "name-appid"),
        ("cos-sdk", {"bucket": "b-1250000000", "page_size": 0}, "page_size"),
        ("cos-sdk", {"bucket": "b-1250000000"}, "SecretId"),
    ],
)
def test_bad_settings_are_config_errors(provider, settings, needle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        default_registry().create(provider, settings)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("provider", "module", "extra"),
    [("oss-sdk", "oss2", "oss-sdk"), ("cos-sdk", "qcloud_cos", "cos-sdk")],
)
def test_missing_sdk_names_the_extra(monkeypatch, provider, module, extra) -> None:  # type: ignore[no-untyped-def]
    # A None entry in sys.modules makes `import <module>` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(UnsupportedProvider) as info:
        default_registry().create(provider, {"bucket": "b-1250000000"})
    assert info.value.code == ErrorCode.UNSUPPORTED_PROVIDER
    assert f"hib-orchestrator[{extra}]" in str(info.value)


@pytest.mark.parametrize(("provider", "host", "_spare"), SDKS)
def test_instances_satisfy_the_protocol(standins, provider, host, _spare) -> None:  # type: ignore[no-untyped-def]
    _, settings = standins.provider(host)
    instance = default_registry().create(provider, settings)
    try:
        assert isinstance(instance, Provider)
        assert type(instance).name == provider
    finally:
        instance.close()


def test_debug_logging_never_shows_credentials(runner, standins, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    for provider, host in (("oss-sdk", "oss-001"), ("cos-sdk", "cos-001")):
        assert _run(runner, provider, host, name=f"{provider}-logs").status == "ok"
        bad = _run(runner, provider, host, name=f"{provider}-bad", access_key_id="AKIABADBADBAD")
        assert bad.error_code == ErrorCode.AUTH_FAILED
    assert caplog.records  # hib itself logged at DEBUG, so the check below has something to read
    for secret in [s for s in standins.secrets if s]:
        assert secret not in caplog.text
    assert "AKIABADBADBAD" not in caplog.text


def test_playbook_runs_the_sdk_providers(standins, tmp_path) -> None:  # type: ignore[no-untyped-def]
    hosts = {
        "oss-sdk-001": {**standins.hosts["oss-001"], "hib_provider": "oss-sdk"},
        "cos-sdk-001": {**standins.hosts["cos-001"], "hib_provider": "cos-sdk"},
        "cos-sdk-bad": {
            **standins.hosts["cos-001"],
            "hib_provider": "cos-sdk",
            "hib_secret_access_key": "wrong",
            "hib_access_key_id": "AKIANOTTHEKEY",
        },
    }
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"image_hosts": {"hosts": hosts}}}}))
    results = tmp_path / "results"
    results.mkdir()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "HIB_HOME": str(tmp_path / "hib"), "ANSIBLE_NOCOLOR": "1"}
    env.pop("HIB_RUN_ID", None)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    command = [f"{bin_dir}/ansible-playbook", "-i", str(inventory), str(PLAYBOOK), "-vvv"]
    play = subprocess.run(
        [*command, "-e", f"results_dir={results}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert play.returncode == 2, play.stdout[-3000:]
    out = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
    for host in ("oss-sdk-001", "cos-sdk-001"):
        assert out[host]["changed"] is True, out[host]
        assert out[host]["objects"]["new"] == 10 and out[host]["objects"]["failed"] == 0
    assert out["cos-sdk-bad"]["failed"] is True
    assert out["cos-sdk-bad"]["error_code"] == "AUTH_FAILED"
    for secret in [s for s in standins.secrets if s]:
        assert secret not in play.stdout + play.stderr
