"""Fault injection and request statistics in front of any stand-in WSGI app.

Control endpoints (JSON), on every stand-in server:

* ``POST /_hib/faults`` ``{"kind": K, "match": "substring of the path", "times": N,
  "retry_after": S}`` arms a fault for the next N matching GET requests. Kinds: ``429`` (with
  ``Retry-After``), ``500``, ``cut`` (headers promise the full length, the connection is closed
  half-way through the body), ``length`` (a consistent response whose body is a few bytes short
  of the real object).
* ``GET /_hib/stats`` → ``{"requests": [[method, path], ...]}`` (everything but ``/_hib``).
* ``POST /_hib/reset`` clears faults and statistics.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
KINDS = ("429", "500", "cut", "length")


@dataclass
class Fault:
    """One armed fault."""

    kind: str
    match: str = ""
    times: int = 1
    retry_after: float = 1.0


class FaultMiddleware:
    """Wraps a WSGI app with fault injection and a request log."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path in ("/_hib/stats", "/_hib/reset", "/_hib/faults"):
            return self._control(method, path, environ, start_response)
        with self.lock:
            self.requests.append((method, path))
            fault = self._take(method, path)
        if fault is None:
            return self.app(environ, start_response)
        return self._inject(fault, environ, start_response)

    def _take(self, method: str, path: str) -> Fault | None:
        if method != "GET":
            return None
        for fault in self.faults:
            if fault.times > 0 and fault.match in path:
                fault.times -= 1
                return fault
        return None

    def _control(
        self, method: str, path: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        doc: Any = {"ok": True}
        if path == "/_hib/stats":
            with self.lock:
                doc = {"requests": [list(r) for r in self.requests]}
        elif path == "/_hib/reset" and method == "POST":
            with self.lock:
                self.faults.clear()
                self.requests.clear()
        elif path == "/_hib/faults" and method == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            spec = json.loads(environ["wsgi.input"].read(size) or b"{}")
            specs = spec if isinstance(spec, list) else [spec]
            with self.lock:
                for one in specs:
                    if str(one.get("kind")) not in KINDS:
                        raise ValueError(f"unknown fault kind {one.get('kind')!r}")
                    self.faults.append(Fault(**{**one, "kind": str(one["kind"])}))
        body = json.dumps(doc).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _inject(
        self, fault: Fault, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if fault.kind in ("429", "500"):
            status = "429 Too Many Requests" if fault.kind == "429" else "500 Internal Server Error"
            body = json.dumps({"error": status, "success": False}).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            if fault.kind == "429":
                headers.append(("Retry-After", f"{fault.retry_after:g}"))
            start_response(status, headers)
            return [body]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        inner = self.app(environ, capture)
        try:
            full = b"".join(inner)
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        if fault.kind == "length":
            body = full[: max(0, len(full) - 7)]
            start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
            return [body]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(full)))])
        return _cut(full, environ.get("werkzeug.socket"))


def _cut(body: bytes, sock: socket.socket | None) -> Iterator[bytes]:
    yield body[: len(body) // 2]
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
