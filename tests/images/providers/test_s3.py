"""S3 family (s3, oss and cos presets) against the moto stand-in."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.standins.control import StandIns


def _client(standins: StandIns):  # type: ignore[no-untyped-def]
    _, s = standins.provider("s3-001")
    return boto3.session.Session().client(
        "s3",
        endpoint_url=s["endpoint"],
        aws_access_key_id=s["access_key_id"],
        aws_secret_access_key=s["secret_access_key"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def test_full_backup_then_no_change_run_downloads_nothing(runner, standins) -> None:  # type: ignore[no-untyped-def]
    first = runner.run("s3-001")
    assert first.status == "ok", first.error_message
    assert first.new == 43 and first.failed == 0 and first.bytes > 0
    assert len(runner.downloads("s3", "/hib-images/")) == 43
    standins.reset("s3")

    second = runner.run("s3-001")
    assert second.status == "ok"
    assert (second.new, second.changed, second.unchanged, second.bytes) == (0, 0, 43, 0)
    assert runner.downloads("s3", "/hib-images/") == []
    assert not [r for r in standins.requests("s3") if r[0] == "HEAD"]


def test_presets_list_and_verify_against_the_same_server(runner) -> None:  # type: ignore[no-untyped-def]
    oss = runner.run("oss-001")
    cos = runner.run("cos-001")
    assert (oss.status, oss.new) == ("ok", 10)
    assert (cos.status, cos.new) == ("ok", 10)


def test_cos_lists_with_v1_markers_across_pages(runner, standins) -> None:  # type: ignore[no-untyped-def]
    client = _client(standins)
    client.create_bucket(Bucket="paged-1250000000")
    for i in range(25):
        client.put_object(Bucket="paged-1250000000", Key=f"p/{i:03d}.png", Body=b"x" * (i + 1))
    result = runner.run("cos-001", name="cos-paged", bucket="paged-1250000000", page_size=10)
    assert (result.status, result.new) == ("ok", 25)
    listings = [p for m, p in standins.requests("s3") if m == "GET" and p == "/paged-1250000000"]
    assert len(listings) == 3


def test_wrong_access_key_is_auth_failed(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("s3-001", access_key_id="AKIAWRONGWRONGWRONG")
    assert result.status == "failed"
    assert result.error_code == "AUTH_FAILED"


def test_missing_bucket_is_not_found(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("s3-001", bucket="no-such-bucket")
    assert result.error_code == "NOT_FOUND"


def test_429_retry_after_is_honoured_then_success(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("s3", "429", match="img-001", times=1, retry_after=1.5)
    result = runner.run("s3-001")
    assert result.status == "ok" and result.failed == 0
    # The engine waited at least what the server asked for before retrying.
    assert max(runner.sleeps) >= 1.5
    hits = [p for p in runner.downloads("s3", "img-001")]
    assert len(hits) == len(set(hits)) + 1  # exactly one object was fetched twice


def test_500_is_retried(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("s3", "500", match="/hib-images/2023/01/img-000", times=2)
    result = runner.run("s3-001")
    assert result.status == "ok"
    assert len(runner.downloads("s3", "/hib-images/2023/01/img-000")) == 3


def test_listing_500_is_retried(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("s3", "500", match="/hib-oss", times=1)
    result = runner.run("oss-001")
    assert (result.status, result.new) == ("ok", 10)


@pytest.mark.parametrize("download", ["presigned", "sdk"])
@pytest.mark.parametrize(("kind", "code"), [("cut", "NETWORK"), ("length", "CHECKSUM_MISMATCH")])
def test_bad_bodies_are_retried_then_reported(runner, standins, kind, code, download) -> None:  # type: ignore[no-untyped-def]
    key = "/hib-images/2024/01/img-002"
    standins.fault("s3", kind, match=key, times=1)
    healed = runner.run("s3-001", download=download)
    assert healed.status == "ok"

    standins.fault("s3", kind, match="/hib-oss/oss/a/img-000", times=10)
    broken = runner.run("oss-001", name="oss-broken", download=download)
    assert broken.status == "partial"
    assert broken.failed == 1 and broken.new == 9
    assert broken.error_code == code
    assert broken.failures[0]["key"].startswith("oss/a/img-000")
    assert not list(runner.store.tmp.glob("*.part"))


def test_cos_bucket_must_carry_appid(runner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        runner.run("cos-001", bucket="plainname")


def test_prefix_limits_the_listing(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("s3-001", name="s3-2023", prefix="2023/")
    assert result.status == "ok"
    assert 0 < result.new < 43
    from hib_orchestrator.images import catalog

    keys = [r["key"] for r in catalog.list_objects(runner.sessions, "s3-2023")]
    assert all(k.startswith("2023/") for k in keys)
