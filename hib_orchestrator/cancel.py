"""Cooperative cancel of a run: ``hib run`` writes ``HIB_CANCEL_FILE`` on the first Ctrl-C.

Action plugins call :func:`cancel_requested` before they start work on a host, so no new host
starts once a cancel is requested, while hosts already in flight finish (or hit their timeout).
"""

from __future__ import annotations

import os

CANCELED_MESSAGE = "run canceled before this host started"


def cancel_requested() -> bool:
    """True when the run this process belongs to was asked to stop starting hosts."""
    path = os.environ.get("HIB_CANCEL_FILE")
    return bool(path) and os.path.exists(path)  # type: ignore[arg-type]


def canceled_result(kind: str) -> dict[str, object]:
    """The task result of a host skipped because the run was canceled."""
    return {"skipped": True, "changed": False, "hib_kind": kind, "msg": CANCELED_MESSAGE}
