"""The isolated backup process (what the action plugin runs), its listing started early."""

from __future__ import annotations

import pytest

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.images.isolated import backup_isolated


def test_isolated_backup_lists_early_then_records_and_resumes(hib_settings, standins) -> None:  # type: ignore[no-untyped-def]
    provider, settings = standins.provider("s3-001")
    first = backup_isolated("s3-iso", provider, settings, workers=4)
    assert (first.status, first.new, first.failed) == ("ok", 43, 0)
    second = backup_isolated("s3-iso", provider, settings, workers=4)
    assert (second.status, second.new, second.unchanged) == ("ok", 0, 43)


def test_isolated_bad_settings_still_raise_config_error(hib_settings, standins) -> None:  # type: ignore[no-untyped-def]
    provider, settings = standins.provider("s3-001")
    with pytest.raises(ConfigError):
        backup_isolated("s3-bad", provider, {**settings, "download": "curl"}, workers=4)


def test_isolated_listing_failure_is_a_failed_result(hib_settings, standins) -> None:  # type: ignore[no-untyped-def]
    provider, settings = standins.provider("s3-001")
    result = backup_isolated("s3-nob", provider, {**settings, "bucket": "no-such"}, workers=4)
    assert (result.status, result.error_code) == ("failed", "NOT_FOUND")
