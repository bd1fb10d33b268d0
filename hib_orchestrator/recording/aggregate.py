"""Turns task results into what the database keeps: a whitelist of fields, never args or output.

A result is reduced to status, changed and, from hib's own modules (``hib_kind`` device or
provider), the structured fields of the contract. Messages are kept only for failures, so a
``debug`` of a secret is never stored; ``no_log`` results arrive censored from Ansible and are
stored as ``censored`` whatever they say.

Per-host outcome (one row per run and host): the worst status wins
(skipped < ok < changed < failed < unreachable); the first failure gives the error; an
ignored failure (``ignore_errors``) does not fail the host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hib_orchestrator.errors import ErrorCode

RANK = {"skipped": 0, "ok": 1, "changed": 2, "failed": 3, "unreachable": 4}
OBJECT_KEYS = ("new", "changed", "unchanged", "deleted_upstream", "failed", "bytes")
HIB_KINDS = ("device", "provider")
CENSORED = "censored"
MAX_MESSAGE = 2000
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


#: The only result keys :func:`extract` reads; :func:`slim` keeps just these before a result
#: leaves the Ansible controller (a config dump in ``stdout`` never crosses the pipe).
RESULT_KEYS = ("changed", "censored", "hib_kind", "error_code", "msg", "stderr", "reason",
               "attempts", "duration_s", "sha256", "size_bytes", "commit", "hosts", "objects",
               "host_commits", "push_pending")
_TEXT_KEYS = ("msg", "stderr", "reason")


#: Variable names whose values are secrets (matched case-insensitively anywhere in the name).
SECRET_NAME = re.compile(r"pass|secret|token|key|community|credential|auth", re.IGNORECASE)
REDACTED = "********"
MIN_SECRET_LEN = 4


def secret_values(variables: Mapping[str, Any]) -> set[str]:
    """String values of secret-looking variables (``ansible_password``, ``*_token``, ...)."""
    found: set[str] = set()
    for name, value in variables.items():
        if isinstance(name, str) and SECRET_NAME.search(name):
            try:
                text = str(value) if isinstance(value, str) else None
            except Exception:  # a vaulted value we cannot decrypt here
                text = None
            if text and len(text) >= MIN_SECRET_LEN:
                found.add(text)
    return found


def redact(text: str, secrets: set[str] | frozenset[str]) -> str:
    """``text`` with every known secret value replaced (longest first)."""
    for value in sorted(secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def slim(
    result: Mapping[str, Any], status: str, secrets: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The part of ``result`` that :func:`extract` may use, JSON-safe and small; failure
    messages have the host's known secret values masked."""
    out: dict[str, Any] = {}
    failing = status in ("failed", "unreachable")
    for key in RESULT_KEYS:
        if key not in result:
            continue
        value = result[key]
        if key in _TEXT_KEYS:
            if not failing or value is None:
                continue
            value = redact(str(value), secrets)[: MAX_MESSAGE * 2]
        elif key == "hosts":
            value = [h for h in value if isinstance(h, str)] if isinstance(value, list) else None
        elif key == "objects":
            value = _objects(value)
        elif key == "host_commits":
            value = _host_commits(value)
        elif not isinstance(value, str | int | float | bool | None):
            continue
        out[key] = value
    return out


@dataclass(slots=True)
class ResultFields:
    """The parts of one task result that may be stored."""

    status: str
    changed: bool = False
    kind: str | None = None
    error_code: str | None = None
    message: str | None = None
    attempts: int | None = None
    duration_s: float | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    commit: str | None = None
    objects: dict[str, int] | None = None
    commit_hosts: list[str] = field(default_factory=list)
    #: config_commit: hosts whose staged text another commit already holds, and that commit.
    host_commits: dict[str, str] = field(default_factory=dict)
    #: config_commit: the push to the config remote failed; the commit is kept locally.
    push_pending: bool = False


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _str_match(value: Any, pattern: re.Pattern[str]) -> str | None:
    return value if isinstance(value, str) and pattern.match(value) else None


def _objects(value: Any) -> dict[str, int] | None:
    if not isinstance(value, Mapping):
        return None
    return {key: n for key in OBJECT_KEYS if (n := _int(value.get(key))) is not None}


def _host_commits(value: Any) -> dict[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    return {h: c for h, c in value.items()
            if isinstance(h, str) and _str_match(c, _COMMIT) is not None}


def _message(result: Mapping[str, Any]) -> str | None:
    msg = result.get("msg")
    if msg is None:
        msg = result.get("stderr") or result.get("reason")
    if msg is None:
        return None
    text = " ".join(str(msg).split())
    return text[:MAX_MESSAGE] if text else None


def extract(status: str, result: Mapping[str, Any], *, no_log: bool = False) -> ResultFields:
    """The storable fields of one result (``status`` comes from the callback event)."""
    failing = status in ("failed", "unreachable")
    fields = ResultFields(status=status, changed=bool(result.get("changed")))
    if no_log or "censored" in result:
        fields.message = CENSORED if failing else None
        if status == "unreachable":
            fields.error_code = str(ErrorCode.UNREACHABLE)
        return fields
    kind = result.get("hib_kind")
    code = result.get("error_code")
    if isinstance(code, str) and code:
        fields.error_code = code[:64]
    elif status == "unreachable":
        fields.error_code = str(ErrorCode.UNREACHABLE)
    if failing:
        fields.message = _message(result)
    if kind == "commit":
        fields.kind = "commit"
        fields.commit = _str_match(result.get("commit"), _COMMIT)
        hosts = result.get("hosts")
        if isinstance(hosts, list):
            fields.commit_hosts = [h for h in hosts if isinstance(h, str)]
        fields.host_commits = _host_commits(result.get("host_commits")) or {}
        fields.push_pending = result.get("push_pending") is True
        return fields
    if kind in HIB_KINDS:
        fields.kind = kind
        fields.attempts = _int(result.get("attempts"))
        fields.duration_s = _float(result.get("duration_s"))
        fields.sha256 = _str_match(result.get("sha256"), _SHA256)
        fields.size_bytes = _int(result.get("size_bytes"))
        fields.commit = _str_match(result.get("commit"), _COMMIT)
        fields.objects = _objects(result.get("objects"))
    return fields


@dataclass(slots=True)
class HostAggregate:
    """The running per-host outcome of one run (a ``host_results`` row)."""

    host: str
    finished_at: datetime
    status: str | None = None
    kind: str | None = None
    changed: bool = False
    error_code: str | None = None
    error_message: str | None = None
    duration_s: float | None = None
    attempts: int | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    commit: str | None = None
    objects: dict[str, int] | None = None
    _task_seconds: float = 0.0
    _module_duration: bool = False

    def apply(
        self, fields: ResultFields, *, ignored: bool, seconds: float | None, at: datetime
    ) -> None:
        """Fold one task result into the host's outcome."""
        status = "ok" if ignored and fields.status == "failed" else fields.status
        if status == "ok" and fields.changed:
            status = "changed"
        if self.status is None or RANK[status] > RANK[self.status]:
            self.status = status
        self.changed = self.changed or fields.changed
        self.finished_at = at
        if status in ("failed", "unreachable") and self.error_code is None:
            self.error_code = fields.error_code
            self.error_message = fields.message
        if seconds is not None:
            self._task_seconds += seconds
        if fields.kind in HIB_KINDS:
            self._apply_module(fields)
        if not self._module_duration:
            self.duration_s = round(self._task_seconds, 3)

    def rescued(self) -> bool:
        """Turn a failed outcome into ok/changed (Ansible says the host ended well); True if so."""
        if self.status not in ("failed", "unreachable"):
            return False
        self.status = "changed" if self.changed else "ok"
        self.error_code = None
        self.error_message = None
        return True

    def _apply_module(self, fields: ResultFields) -> None:
        self.kind = fields.kind
        for name in ("attempts", "sha256", "size_bytes", "commit", "objects"):
            value = getattr(fields, name)
            if value is not None:
                setattr(self, name, value)
        if fields.duration_s is not None:
            self.duration_s = fields.duration_s
            self._module_duration = True

    def row(self, run_id: int) -> dict[str, Any]:
        """Column values of the ``host_results`` row."""
        return {
            "run_id": run_id,
            "host": self.host,
            "kind": self.kind,
            "status": self.status or "skipped",
            "changed": self.changed,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "duration_s": self.duration_s,
            "attempts": self.attempts,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "commit": self.commit,
            "objects": self.objects,
            "finished_at": self.finished_at,
        }


__all__ = [
    "CENSORED",
    "RANK",
    "REDACTED",
    "RESULT_KEYS",
    "HostAggregate",
    "ResultFields",
    "extract",
    "redact",
    "secret_values",
    "slim",
]
