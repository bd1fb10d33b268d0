from __future__ import annotations

import io
import json
from pathlib import Path

from hib_orchestrator.logs import get_logger, log_context, setup_logging
from hib_orchestrator.settings import load_settings


def test_json_lines_carry_run_host_and_operation(tmp_path: Path) -> None:
    out = io.StringIO()
    setup_logging(load_settings({"HIB_LOG_FORMAT": "json", "HIB_LOG_LEVEL": "INFO"}, tmp_path), out)
    log = get_logger("test")
    with log_context(run_id=7, host="r1"), log_context(operation="fetch"):
        log.info("connected to %s", "r1")
    log.warning("outside")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "connected to r1"
    assert (first["run_id"], first["host"], first["operation"]) == (7, "r1", "fetch")
    assert first["level"] == "info" and first["logger"] == "hib_orchestrator.test"
    assert "host" not in second


def test_text_format_is_readable_and_setup_is_idempotent(tmp_path: Path) -> None:
    out = io.StringIO()
    settings = load_settings({"HIB_LOG_LEVEL": "INFO"}, tmp_path)
    setup_logging(settings, out)
    setup_logging(settings, out)
    with log_context(host="sw1"):
        get_logger("hib_orchestrator.x").info("hello")
    assert out.getvalue() == "info: [host=sw1] hello\n"


def test_inside_ansible_lines_go_through_display(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from hib_orchestrator.logs import AnsibleDisplayHandler

    logger = setup_logging(
        load_settings({"HIB_LOG_FORMAT": "json", "HIB_LOG_LEVEL": "INFO"}, tmp_path), ansible=True
    )
    assert any(isinstance(h, AnsibleDisplayHandler) for h in logger.handlers)
    with log_context(host="r9", operation="device_config"):
        get_logger("hib_orchestrator.devices").info("backed up")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["host"], line["message"]) == ("r9", "backed up")
