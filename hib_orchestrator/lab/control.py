"""Client side of the daemon's control socket: one JSON object per line each way.

Requests: ``{"op": "ping"}``, ``{"op": "status"}``, ``{"op": "fault", "host": H, "kind": K}``,
``{"op": "mutate", "count": K}``, ``{"op": "stop"}``. Replies carry ``ok`` and, on failure,
``error`` (one line).
"""

from __future__ import annotations

import json
import socket
from typing import Any

from hib_orchestrator.errors import ConfigError


class LabNotRunning(ConfigError):
    """No lab daemon answers on the control socket."""


def request(address: str, payload: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
    """Send one request and return the reply.

    Raises:
        LabNotRunning: nothing listens on the socket.
        ConfigError: the daemon refused the request (its reason is the message).
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(address)
        except OSError as err:
            raise LabNotRunning("no lab is running (start one with `hib lab up`)") from err
        sock.sendall(json.dumps(payload).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    if not data:
        raise LabNotRunning("the lab daemon closed the control connection")
    reply: dict[str, Any] = json.loads(data)
    if not reply.get("ok"):
        raise ConfigError(str(reply.get("error", "lab request failed")))
    return reply
