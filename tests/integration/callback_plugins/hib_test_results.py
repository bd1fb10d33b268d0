"""Test-only callback: every task result as one JSON line in ``$HIB_TEST_RESULTS``."""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: hib_test_results
type: aggregate
short_description: write task results as JSON lines (tests only)
description: [Writes host, task name, status and the result dict to $HIB_TEST_RESULTS.]
"""


class CallbackModule(CallbackBase):
    """Append one JSON line per host result."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "hib_test_results"
    CALLBACK_NEEDS_ENABLED = False

    def _write(self, result: Any, status: str) -> None:
        path = os.environ.get("HIB_TEST_RESULTS")
        if not path:
            return
        doc = {
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "action": result._task.action,
            "status": status,
            "result": json.loads(json.dumps(result._result, default=str)),
        }
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(doc) + "\n")

    def v2_runner_on_ok(self, result: Any) -> None:
        self._write(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._write(result, "failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._write(result, "unreachable")
