"""SM.MS stand-in: ``GET /api/v2/upload_history?page=N`` with an ``Authorization`` token.

Answers like SM.MS: HTTP 200 with ``{"success": false, "code": "unauthorized"}`` for a bad
token; ``data[]`` items with ``filename``/``storename``/``size``/``path``/``hash``/``url``;
``CurrentPage``, ``TotalPages``, ``PerPage``, ``Count``. Images are served from ``/i/<path>``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

PER_PAGE = 10


class SmmsApp:
    """WSGI app holding ``path → (original filename, bytes)``."""

    def __init__(self, token: str, images: dict[str, tuple[str, bytes]], base_url: str) -> None:
        self.token = token
        self.images = images
        self.base_url = base_url.rstrip("/")

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/i/"):
            item = self.images.get(path[3:])
            if item is None:
                return _send(start_response, "404 Not Found", b"not found", "text/plain")
            return _send(start_response, "200 OK", item[1], "image/png")
        if path != "/api/v2/upload_history":
            return _send(start_response, "404 Not Found", b"{}", "application/json")
        if environ.get("HTTP_AUTHORIZATION", "") != self.token:
            doc: dict[str, Any] = {
                "success": False,
                "code": "unauthorized",
                "message": "Unauthorized.",
            }
            return _json(start_response, doc)
        page = int(parse_qs(environ.get("QUERY_STRING", "")).get("page", ["1"])[0])
        keys = sorted(self.images)
        total = max(1, math.ceil(len(keys) / PER_PAGE))
        data = [self._item(k) for k in keys[(page - 1) * PER_PAGE : page * PER_PAGE]]
        doc = {
            "success": True,
            "code": "success",
            "message": "Get list success.",
            "data": data,
            "CurrentPage": page,
            "TotalPages": total,
            "PerPage": PER_PAGE,
            "Count": len(data),
        }
        return _json(start_response, doc)

    def _item(self, key: str) -> dict[str, Any]:
        filename, data = self.images[key]
        return {
            "width": 32,
            "height": 32,
            "filename": filename,
            "storename": key.rsplit("/", 1)[-1],
            "size": len(data),
            "path": "/" + key,
            "hash": "del" + str(abs(hash(key)))[:12],
            "url": f"{self.base_url}/i/{key}",
            "delete": f"{self.base_url}/delete/x",
            "page": f"{self.base_url}/i/{key}",
        }


def _json(start_response: Callable[..., Any], doc: Any) -> list[bytes]:
    return _send(start_response, "200 OK", json.dumps(doc).encode(), "application/json")


def _send(start_response: Callable[..., Any], status: str, body: bytes, ctype: str) -> list[bytes]:
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]
