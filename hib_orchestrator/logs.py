"""One logging setup for the whole package.

Readable lines by default; JSON lines with ``run_id``/``host``/``operation`` when
``HIB_LOG_FORMAT=json``. Context is carried in :mod:`contextvars`, so threads and the recorder
tag their records without passing loggers around::

    with log_context(run_id="42", host="r1", operation="fetch"):
        logger.info("connected")
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from hib_orchestrator.settings import Settings

_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "hib_log_ctx", default=None
)
CONTEXT_FIELDS = ("run_id", "host", "operation")
ROOT = "hib_orchestrator"


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields (``run_id``, ``host``, ``operation``, ...) to every record logged inside."""
    added = {k: v for k, v in fields.items() if v is not None}
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **added})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.hib_context = _CONTEXT.get() or {}
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, context fields, error."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update(getattr(record, "hib_context", {}))
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    """``LEVEL [run=.. host=..] message``: short enough to read in a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        ctx = getattr(record, "hib_context", {})
        tags = " ".join(f"{k}={ctx[k]}" for k in CONTEXT_FIELDS if k in ctx)
        line = f"{record.levelname.lower()}: {f'[{tags}] ' if tags else ''}{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class AnsibleDisplayHandler(logging.Handler):
    """Hands records to Ansible's ``Display``.

    Ansible workers are detached from stdio (their stderr is /dev/null); ``Display`` proxies
    lines over the results queue to the controller, which prints them on its stderr.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from ansible.utils.display import Display

            Display().display(self.format(record), stderr=True)
        except Exception:
            self.handleError(record)


def setup_logging(
    settings: Settings, stream: TextIO | None = None, *, ansible: bool = False
) -> logging.Logger:
    """Configure the ``hib_orchestrator`` logger once (idempotent) and return it.

    Args:
        settings: Supplies ``log_format`` and ``log_level``.
        stream: Where lines go (default stderr).
        ansible: Inside Ansible (plugins): go through Ansible's display instead of a stream.
    """
    logger = logging.getLogger(ROOT)
    for old in list(logger.handlers):
        if getattr(old, "_hib", False):
            logger.removeHandler(old)
    handler: logging.Handler = (
        AnsibleDisplayHandler() if ansible else logging.StreamHandler(stream or sys.stderr)
    )
    handler._hib = True  # type: ignore[attr-defined]
    handler.addFilter(_ContextFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(settings.log_level)
    logger.propagate = False
    return logger


def get_logger(name: str) -> logging.Logger:
    """A child of the package logger (``get_logger(__name__)``)."""
    return logging.getLogger(name if name.startswith(ROOT) else f"{ROOT}.{name}")
