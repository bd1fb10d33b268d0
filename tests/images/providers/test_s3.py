"""S3 family (s3, oss and cos presets) against the moto stand-in."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.standins.control import StandIns
from hib_orchestrator.standins.s3 import seed_bucket


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


@pytest.mark.parametrize("download", ["native", "presigned"])
def test_wrong_access_key_is_auth_failed(runner, download) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("s3-001", access_key_id="AKIAWRONGWRONGWRONG", download=download)
    assert result.status == "failed"
    assert result.error_code == "AUTH_FAILED"


@pytest.mark.parametrize("download", ["native", "presigned"])
def test_missing_bucket_is_not_found(runner, download) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("s3-001", bucket="no-such-bucket", download=download)
    assert result.error_code == "NOT_FOUND"


def test_429_retry_after_is_honoured_then_success(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("s3", "429", match="img-001", times=1, retry_after=1.5)
    result = runner.run("s3-001", download="presigned")
    assert result.status == "ok" and result.failed == 0
    # The engine waited at least what the server asked for before retrying.
    assert max(runner.sleeps) >= 1.5
    hits = [p for p in runner.downloads("s3", "img-001")]
    assert len(hits) == len(set(hits)) + 1  # exactly one object was fetched twice


def test_native_429_moves_downloads_to_the_client_that_reads_retry_after(runner, standins) -> None:  # type: ignore[no-untyped-def]
    # obstore's errors carry no headers: the first 429 is backed off blindly, then the Python
    # client takes over and sees (and honours) the Retry-After of the next one.
    standins.fault("s3", "429", match="img-001", times=2, retry_after=1.5)
    result = runner.run("s3-001", download="native")
    assert result.status == "ok" and result.failed == 0
    assert max(runner.sleeps) >= 1.5
    assert min(runner.sleeps) < 1.5
    hits = [p for p in runner.downloads("s3", "img-001")]
    assert len(hits) == len(set(hits)) + 2  # one object fetched three times


def test_500_is_retried(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("s3", "500", match="/hib-images/2023/01/img-000", times=2)
    result = runner.run("s3-001")
    assert result.status == "ok"
    assert len(runner.downloads("s3", "/hib-images/2023/01/img-000")) == 3


def test_listing_500_is_retried(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("s3", "500", match="/hib-oss", times=1)
    result = runner.run("oss-001")
    assert (result.status, result.new) == ("ok", 10)


@pytest.mark.parametrize("download", ["native", "presigned", "sdk"])
@pytest.mark.parametrize(("kind", "code"), [("cut", "NETWORK"), ("length", "CHECKSUM_MISMATCH")])
def test_bad_bodies_are_retried_then_reported(runner, standins, kind, code, download) -> None:  # type: ignore[no-untyped-def]
    key = "/hib-images/2024/01/img-002"
    standins.fault("s3", kind, match=key, times=1)
    healed = runner.run("s3-001", download=download)
    assert healed.status == "ok"

    standins.fault("s3", kind, match="/hib-oss/oss/a/img-000", times=10)
    # The oss preset signs v2 by default; obstore signs SigV4 only.
    v4 = {"signature_version": "s3v4"} if download == "native" else {}
    broken = runner.run("oss-001", name="oss-broken", download=download, **v4)
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


ODD_KEYS = {
    # object_store would rewrite or reject these: fetched (and listed) through boto3.
    "folder/": b"",
    "a//b.png": b"double slash",
    "/lead.png": b"leading slash",
    "tab\tkey.png": b"control character",
    # Valid object_store paths, fetched natively; "a/b.png" is what the rewrites would hit.
    "a/b.png": b"the real a/b",
    "sp ace/\u00fc \u00f1.png": b"unicode",
    "q?x=1&y#z.png": b"query-like",
    "pct%20x.png": b"percent",
    "2023/01/img-0x": b"prefix match",
    "2023/01/img-1x": b"prefix miss",
}


@pytest.mark.parametrize("download", ["native", "presigned"])
def test_odd_keys_are_listed_and_fetched_exactly(runner, standins, download) -> None:  # type: ignore[no-untyped-def]
    from hib_orchestrator.images import catalog

    _, s = standins.provider("s3-001")
    seed_bucket(s["endpoint"], s["access_key_id"], s["secret_access_key"], "odd", ODD_KEYS)
    result = runner.run("s3-001", name=f"odd-{download}", bucket="odd", download=download)
    assert (result.status, result.new, result.failed) == ("ok", len(ODD_KEYS), 0)
    rows = catalog.list_objects(runner.sessions, f"odd-{download}")
    assert sorted(r["key"] for r in rows) == sorted(ODD_KEYS)
    for row in rows:
        assert b"".join(runner.store.open(row["sha256"])) == ODD_KEYS[row["key"]]

    part = runner.run("s3-001", name=f"odd-p-{download}", bucket="odd", prefix="2023/01/img-0")
    assert (part.status, part.new) == ("ok", 1)


def test_native_path_lists_without_boto3_and_matches_boto3(standins) -> None:  # type: ignore[no-untyped-def]
    from hib_orchestrator.providers.s3 import S3Provider

    _, s = standins.provider("s3-001")
    native = S3Provider({**s, "download": "native"})
    boto = S3Provider({**s, "download": "presigned"})
    try:
        assert sorted(native.list_objects(), key=str) == sorted(boto.list_objects(), key=str)
        assert native._boto is None  # the listing went through obstore
    finally:
        native.close()
        boto.close()


def test_bad_download_and_endpoint_settings_are_config_errors(runner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        runner.run("s3-001", download="curl")
    with pytest.raises(ConfigError):
        runner.run("s3-001", endpoint="127.0.0.1:9000")
    with pytest.raises(ConfigError):  # obstore signs SigV4 only
        runner.run("oss-001", download="native")


def test_bytes_already_stored_are_recorded_without_downloading(runner, standins) -> None:  # type: ignore[no-untyped-def]
    first = runner.run("s3-001")
    assert (first.status, first.new) == ("ok", 43)
    standins.reset("s3")
    # Another host over the same bucket: every single-part ETag is an MD5 the store knows.
    copy = runner.run("s3-001", name="s3-copy")
    assert (copy.status, copy.new, copy.bytes) == ("ok", 43, 0)
    assert runner.downloads("s3", "/hib-images/") == []
