"""Oxidized-style: each recorded session (tests/fixtures/platforms/<type>/<case>.yaml) goes
through the real normalise -> reject check -> filters -> masking -> safety code and must give the
reviewed ``<case>.txt`` and pass its secret checks. Re-record with
``tests/fixtures/record_platform_sessions.py``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hib_orchestrator.devices.filters import check_rejected, normalise_output, stored_text
from hib_orchestrator.devices.profiles import registry
from hib_orchestrator.devices.safety import check_complete
from hib_orchestrator.errors import HibError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms"
CASES = sorted(FIXTURES.glob("*/*.yaml"))


def _replay(case: dict[str, Any]) -> str:
    session = case["session"]
    profile = registry().get(case["device_type"]).with_overrides(
        {"commands": [step["command"] for step in session]})
    cleaned = []
    for step in session:  # strictly in recorded order
        out = normalise_output(profile, step["command"], step["output"])
        check_rejected(profile, step["command"], out)
        cleaned.append((step["command"], out))
    text = stored_text(profile, cleaned)
    check_complete(profile, text, previous=None)
    return text


def test_every_lab_platform_has_recorded_fixtures() -> None:
    platforms = {p.parent.name for p in CASES}
    assert platforms >= {"cisco_ios", "cisco_nxos", "cisco_xr", "arista_eos", "juniper_junos",
                         "huawei", "hp_comware", "linux"}


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_recorded_session_gives_expected_stored_text(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    if "expect_error" in case:
        with pytest.raises(HibError) as info:
            _replay(case)
        assert info.value.code == case["expect_error"]
        return
    text = _replay(case)
    assert text == path.with_suffix(".txt").read_text()
    for secret in case["secrets"]["must_not"]:
        assert secret not in text
    for pattern in case["secrets"]["must"]:
        assert re.search(pattern, text, re.MULTILINE), pattern
