from __future__ import annotations

import pytest

from hib_orchestrator.devices.profiles import registry
from hib_orchestrator.devices.safety import check_complete
from hib_orchestrator.errors import ErrorCode, TruncatedOutput

IOS_BODY = "\n".join(f"interface Gi0/{n}\n description port {n}\n!" for n in range(20))
GOOD = f"hostname r1\n{IOS_BODY}\nend\n"


def test_complete_config_passes() -> None:
    check_complete(registry().get("cisco_ios"), GOOD, previous=GOOD)


def test_missing_end_marker_is_truncated_output() -> None:
    cut = GOOD.rsplit("end", 1)[0]
    with pytest.raises(TruncatedOutput, match="end marker") as info:
        check_complete(registry().get("cisco_ios"), cut, previous=None, host="r1")
    assert info.value.code == ErrorCode.TRUNCATED_OUTPUT and info.value.host == "r1"


def test_too_few_significant_lines_is_truncated_output() -> None:
    text = "! comment\n!\nhostname r1\n! Last configuration change at x\nend\n"
    with pytest.raises(TruncatedOutput, match="significant lines"):
        check_complete(registry().get("cisco_ios"), text, previous=None)
    lenient = registry().get("cisco_ios").with_overrides({"min_lines": 2})
    check_complete(lenient, text, previous=None)


def test_big_size_drop_is_refused_unless_accepted_or_limit_raised() -> None:
    ios = registry().get("cisco_ios")
    small = "hostname r1\n" + "\n".join(f"vlan {n}" for n in range(6)) + "\nend\n"
    with pytest.raises(TruncatedOutput, match="shrank"):
        check_complete(ios, small, previous=GOOD)
    check_complete(ios, small, previous=GOOD, accept_size_drop=True)
    check_complete(ios.with_overrides({"max_drop_pct": 100}), small, previous=GOOD)


def test_platform_without_end_marker_relies_on_counts() -> None:
    nxos = registry().get("cisco_nxos")
    check_complete(nxos, "hostname n1\n" + "\n".join(f"vlan {n}" for n in range(8)), None)
