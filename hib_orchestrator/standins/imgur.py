"""Imgur stand-in: API v3 shapes, OAuth2 refresh, ``X-RateLimit-*`` headers, ``/3/credits``.

* ``GET /3/account/me/images/{page}`` (50 per page, ``Authorization: Bearer <token>``; an
  expired or unknown token gets 401).
* ``POST /oauth2/token`` (``refresh_token``, ``client_id``, ``client_secret``,
  ``grant_type=refresh_token``) mints a new access token; a bad refresh token gets 400.
* ``GET /3/credits``; images at ``/i/<id><ext>``.
* ``POST /_hib/imgur/expire`` expires every access token (the "expired token" fault).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

PER_PAGE = 50


class ImgurApp:
    """WSGI app holding ``id → (ext, original name, bytes)``."""

    def __init__(
        self,
        *,
        access_token: str,
        refresh_token: str,
        client_id: str,
        client_secret: str,
        images: dict[str, tuple[str, str, bytes]],
        base_url: str,
        credits: int = 12500,
    ) -> None:
        self.tokens = {access_token: time.time() + 3600}
        self.refresh_token = refresh_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.images = images
        self.base_url = base_url.rstrip("/")
        self.credits = credits
        self.limit = credits
        self.lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/i/"):
            image_id, _, _ = path[3:].partition(".")
            item = self.images.get(image_id)
            if item is None:
                return _send(start_response, "404 Not Found", b"", "text/plain")
            return _send(start_response, "200 OK", item[2], "image/png")
        if path == "/_hib/imgur/expire" and method == "POST":
            with self.lock:
                self.tokens = {t: 0.0 for t in self.tokens}
            return self._json(start_response, "200 OK", {"ok": True})
        if path == "/oauth2/token" and method == "POST":
            return self._token(environ, start_response)
        if not self._authorized(environ):
            doc = {
                "data": {
                    "error": "The access token provided is invalid.",
                    "request": path,
                    "method": method,
                },
                "success": False,
                "status": 401,
            }
            return self._json(start_response, "401 Unauthorized", doc)
        with self.lock:
            self.credits = max(0, self.credits - 1)
        if path == "/3/credits":
            return self._json(
                start_response, "200 OK", {"data": self._credits(), "success": True, "status": 200}
            )
        if path.startswith("/3/account/me/images"):
            page = int(path.rstrip("/").rsplit("/", 1)[-1]) if path.count("/") > 4 else 0
            return self._page(start_response, page)
        return self._json(start_response, "404 Not Found", {"success": False, "status": 404})

    def _authorized(self, environ: dict[str, Any]) -> bool:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with self.lock:
            return self.tokens.get(token, 0.0) > time.time()

    def _token(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        form = {k: v[0] for k, v in parse_qs(environ["wsgi.input"].read(size).decode()).items()}
        ok = (
            form.get("grant_type") == "refresh_token"
            and form.get("refresh_token") == self.refresh_token
            and form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        )
        if not ok:
            doc = {"data": {"error": "Invalid refresh token"}, "success": False, "status": 400}
            return self._json(start_response, "400 Bad Request", doc)
        token = secrets.token_hex(20)
        with self.lock:
            self.tokens[token] = time.time() + 3600
        return self._json(
            start_response,
            "200 OK",
            {
                "access_token": token,
                "expires_in": 3600,
                "token_type": "bearer",
                "refresh_token": self.refresh_token,
                "account_username": "hib-lab",
            },
        )

    def _page(self, start_response: Callable[..., Any], page: int) -> Iterable[bytes]:
        ids = sorted(self.images)
        data = []
        for image_id in ids[page * PER_PAGE : (page + 1) * PER_PAGE]:
            ext, name, blob = self.images[image_id]
            data.append(
                {
                    "id": image_id,
                    "title": None,
                    "description": None,
                    "datetime": 1700000000,
                    "type": "image/jpeg" if ext == ".jpg" else "image/png",
                    "animated": False,
                    "width": 32,
                    "height": 32,
                    "size": len(blob),
                    "views": 0,
                    "bandwidth": 0,
                    "name": name,
                    "link": f"{self.base_url}/i/{image_id}{ext}",
                }
            )
        return self._json(start_response, "200 OK", {"data": data, "success": True, "status": 200})

    def _credits(self) -> dict[str, int]:
        return {
            "UserLimit": self.limit,
            "UserRemaining": self.credits,
            "UserReset": int(time.time()) + 3600,
            "ClientLimit": self.limit,
            "ClientRemaining": self.credits,
        }

    def _json(self, start_response: Callable[..., Any], status: str, doc: Any) -> list[bytes]:
        body = json.dumps(doc).encode()
        c = self._credits()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-RateLimit-UserLimit", str(c["UserLimit"])),
            ("X-RateLimit-UserRemaining", str(c["UserRemaining"])),
            ("X-RateLimit-UserReset", str(c["UserReset"])),
            ("X-RateLimit-ClientLimit", str(c["ClientLimit"])),
            ("X-RateLimit-ClientRemaining", str(c["ClientRemaining"])),
        ]
        start_response(status, headers)
        return [body]


def _send(start_response: Callable[..., Any], status: str, body: bytes, ctype: str) -> list[bytes]:
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]
