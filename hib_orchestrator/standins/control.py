"""Client for the running stand-ins' control endpoints (faults, request log), for lab and tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import urllib3

from hib_orchestrator.standins import fleet

SERVERS = ("s3", "github", "smms", "imgur")


class StandIns:
    """The stand-ins started in ``directory``: inventory, faults, request statistics."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.hosts = fleet.inventory_hosts(directory)
        self.urls = fleet.servers(directory)
        self.secrets = fleet.secrets(directory)
        state = json.loads((self.directory / fleet.STATE).read_text())
        self.github_bare = Path(state["github_bare"])
        self._http = urllib3.PoolManager()

    def provider(self, host: str) -> tuple[str, dict[str, Any]]:
        """(``hib_provider``, settings without the ``hib_`` prefix) of an inventory host."""
        hv = self.hosts[host]
        return hv["hib_provider"], {
            k[4:]: v for k, v in hv.items() if k.startswith("hib_") and k != "hib_provider"
        }

    def fault(
        self, server: str, kind: str, match: str = "", times: int = 1, retry_after: float = 1.0
    ) -> None:
        """Arm a fault (``429``, ``500``, ``cut``, ``length``) on the next matching GETs."""
        body = {"kind": kind, "match": match, "times": times, "retry_after": retry_after}
        self._post(server, "/_hib/faults", body)

    def reset(self, *servers: str) -> None:
        """Clear faults and request logs (all servers by default)."""
        for server in servers or SERVERS:
            self._post(server, "/_hib/reset", {})

    def requests(self, server: str) -> list[tuple[str, str]]:
        """Every (method, path) the server answered since the last reset."""
        resp = self._http.request("GET", self.urls[server] + "/_hib/stats")
        return [tuple(r) for r in json.loads(resp.data)["requests"]]  # type: ignore[misc]

    def expire_imgur_tokens(self) -> None:
        """Expire every Imgur access token (the next API call gets 401)."""
        self._post("imgur", "/_hib/imgur/expire", {})

    def github_rate_limit(self, remaining: int, reset_in: float) -> None:
        """Set the GitHub stand-in's remaining quota and seconds until it resets."""
        self._post(
            "github", "/_hib/github/ratelimit", {"remaining": remaining, "reset_in": reset_in}
        )

    def _post(self, server: str, path: str, body: Any) -> None:
        resp = self._http.request("POST", self.urls[server] + path, body=json.dumps(body))
        if resp.status != 200:
            raise RuntimeError(f"{server}{path}: HTTP {resp.status}")
