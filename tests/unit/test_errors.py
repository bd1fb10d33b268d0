from __future__ import annotations

import re
from pathlib import Path

import pytest

from hib_orchestrator import errors
from hib_orchestrator.errors import ErrorCode, HibError

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.md"


def _error_classes() -> list[type[HibError]]:
    return [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, HibError)
    ]


def test_every_contract_error_code_exists() -> None:
    codes = {"AUTH_FAILED", "TIMEOUT", "UNREACHABLE", "PROMPT_NOT_DETECTED", "TRUNCATED_OUTPUT",
             "COMMAND_REJECTED", "UNSUPPORTED_PLATFORM", "STORE_ERROR", "RATE_LIMITED",
             "NOT_FOUND", "CHECKSUM_MISMATCH", "NETWORK", "UNSUPPORTED_PROVIDER"}
    if CONTRACT.exists():  # the shared contract sits beside the checkout in this workplace
        section = CONTRACT.read_text().split("## Error codes", 1)[1].split("##", 1)[0]
        codes |= set(re.findall(r"`([A-Z_]+)`", section))
    assert codes <= {c.value for c in ErrorCode}
    raised = {cls.code.value for cls in _error_classes()}
    assert codes <= raised, f"codes without an exception class: {codes - raised}"


def test_message_is_one_line_and_carries_host() -> None:
    err = errors.DeviceTimeout("no answer\n after 30 s", host="r1")
    assert err.message == "no answer after 30 s"
    assert str(err) == "r1: no answer after 30 s"
    assert err.to_dict() == {"code": "TIMEOUT", "message": "no answer after 30 s", "host": "r1"}


def test_rate_limited_keeps_retry_after() -> None:
    err = errors.RateLimited("slow down", host="imgur", retry_after=7.5)
    assert err.code is ErrorCode.RATE_LIMITED
    assert err.retry_after == 7.5


@pytest.mark.parametrize("cls", _error_classes())
def test_every_class_is_documented_in_the_tree(cls: type[HibError]) -> None:
    assert cls.__name__ in (errors.__doc__ or "")
    assert cls.__doc__
