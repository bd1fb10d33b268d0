"""A 50-device lab serves a thread-pool netmiko backup of every config with no failure."""

from __future__ import annotations

import pytest

from tests.lab.capacity import measure


@pytest.mark.slow
def test_fifty_devices_all_configs_fetched() -> None:
    result = measure(devices=50, workers=10)
    assert result["devices"] == 50
    assert result["failed"] == 0, result["errors"]
    assert result["daemon_cpu_s"] > 0
