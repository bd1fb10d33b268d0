from __future__ import annotations

import hib_orchestrator


def test_public_api_is_exactly_what_all_says() -> None:
    exported = {"ErrorCode", "HibError", "Settings", "__version__", "load_settings"}
    assert set(hib_orchestrator.__all__) == exported
    for name in exported:
        assert hasattr(hib_orchestrator, name)
