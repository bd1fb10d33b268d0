"""What a result becomes in the database: whitelisted fields and the per-host outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hib_orchestrator.recording.aggregate import HostAggregate, extract

AT = datetime(2026, 1, 1, tzinfo=UTC)


def fold(*events: tuple[str, dict[str, object], bool]) -> HostAggregate:
    agg = HostAggregate(host="h", finished_at=AT)
    for status, result, ignored in events:
        agg.apply(extract(status, result), ignored=ignored, seconds=1.0, at=AT)
    return agg


def test_worst_status_wins_and_first_failure_explains() -> None:
    agg = fold(("ok", {"changed": True}, False),
               ("failed", {"msg": "first", "error_code": "TIMEOUT"}, False),
               ("failed", {"msg": "second"}, False))
    assert (agg.status, agg.changed, agg.error_code, agg.error_message) == (
        "failed", True, "TIMEOUT", "first")
    assert agg.duration_s == 3.0


def test_ignored_failures_and_skips_do_not_fail_a_host() -> None:
    assert fold(("failed", {"msg": "x"}, True), ("skipped", {}, False)).status == "ok"
    assert fold(("skipped", {}, False)).status == "skipped"
    assert fold(("unreachable", {"msg": "down"}, False)).error_code == "UNREACHABLE"


def test_only_whitelisted_fields_of_hib_modules_are_kept() -> None:
    fields = extract("ok", {
        "hib_kind": "device", "changed": True, "sha256": "a" * 64, "size_bytes": "12",
        "attempts": 3, "duration_s": "0.5", "commit": "not-a-sha", "password": "hunter2hunter2",
        "msg": "saved", "objects": {"new": 1, "evil": 2},
    })
    assert (fields.kind, fields.sha256, fields.size_bytes, fields.attempts, fields.duration_s) == (
        "device", "a" * 64, 12, 3, 0.5)
    assert fields.commit is None  # not a commit id
    assert fields.message is None  # messages only for failures
    assert fields.objects == {"new": 1}
    assert "hunter2hunter2" not in repr(fields)


def test_module_duration_wins_over_task_time() -> None:
    agg = fold(("ok", {"hib_kind": "device", "duration_s": 0.25}, False), ("ok", {}, False))
    assert agg.duration_s == 0.25


@pytest.mark.parametrize("result", [{"censored": "hidden", "msg": "s3cr3t-value"},
                                    {"msg": "s3cr3t-value"}])
def test_no_log_failures_are_censored(result: dict[str, object]) -> None:
    fields = extract("failed", result, no_log="censored" not in result)
    assert fields.message == "censored"


def test_commit_results_name_their_hosts() -> None:
    fields = extract("ok", {"hib_kind": "commit", "commit": "b" * 40, "hosts": ["a", 3, "b"]})
    assert (fields.kind, fields.commit, fields.commit_hosts) == ("commit", "b" * 40, ["a", "b"])


def test_secret_values_are_masked_in_failure_messages() -> None:
    from hib_orchestrator.recording.aggregate import secret_values, slim

    secrets = secret_values({"ansible_password": "pw-123456", "hib_enable_secret": "en-98765",
                             "api_token": "tok-abcdef", "ansible_host": "10.0.0.1",
                             "short_key": "ab"})
    assert secrets == {"pw-123456", "en-98765", "tok-abcdef"}
    failed = slim({"msg": "pw-123456 / en-98765 rejected", "stdout": "tok-abcdef"}, "failed",
                  secrets)
    assert failed == {"msg": "******** / ******** rejected"}  # stdout never leaves at all
    assert slim({"msg": "pw-123456"}, "ok", secrets) == {}  # no message kept for successes
