"""All provider stand-ins as one background process, and the inventory hosts that point at them.

    hosts = fleet.start(directory, seed=0)   # idempotent; returns {host: {hib_provider: ...}}
    fleet.inventory_hosts(directory)         # the same, from the state file
    fleet.secrets(directory)                 # every planted credential (to prove none leaks)
    fleet.servers(directory)                 # {"s3": url, "github": url, "smms": url, "imgur": url}
    fleet.status(directory)                  # [{host, provider, endpoint}] for `hib lab status`
    fleet.stop(directory)

Seeded images (deterministic for a seed): nested keys, the same basename in different folders
with different bytes, and a few images present at several providers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hib_orchestrator.procs import pid_alive
from hib_orchestrator.standins.faults import FaultMiddleware, WSGIApp
from hib_orchestrator.standins.imagegen import image

STATE = "standins.json"
S3_BUCKET, OSS_BUCKET, COS_BUCKET = "hib-images", "hib-oss", "hib-cos-1250000000"
GITHUB_REPO = "lab/imagebed"


def _state_path(directory: str | Path) -> Path:
    return Path(directory) / STATE


def _read_state(directory: str | Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(_state_path(directory).read_text()))
    except (FileNotFoundError, ValueError):
        return None




def start(
    directory: str | Path, seed: int | str = 0, timeout: float = 60.0
) -> dict[str, dict[str, Any]]:
    """Start the stand-ins in the background (unless running); returns the inventory hosts."""
    directory = Path(directory)
    state = _read_state(directory)
    if state and pid_alive(int(state["pid"])):
        return dict(state["hosts"])
    directory.mkdir(parents=True, exist_ok=True)
    _state_path(directory).unlink(missing_ok=True)
    log = (directory / "standins.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hib_orchestrator.standins.fleet",
            str(directory),
            "--seed",
            str(seed),
        ],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _read_state(directory)
        if state:
            return dict(state["hosts"])
        if proc.poll() is not None:
            raise RuntimeError(
                f"provider stand-ins exited ({proc.returncode}); see {directory / 'standins.log'}"
            )
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"provider stand-ins did not start within {timeout:g}s")


def stop(directory: str | Path, timeout: float = 10.0) -> bool:
    """Stop the stand-ins started in ``directory``; True when something was running."""
    state = _read_state(directory)
    if not state:
        return False
    pid = int(state["pid"])
    running = pid_alive(pid)
    if running:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
    _state_path(directory).unlink(missing_ok=True)
    return running


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def inventory_hosts(directory: str | Path) -> dict[str, dict[str, Any]]:
    """Inventory host entries (``image_hosts`` group members) of the running stand-ins."""
    state = _read_state(directory)
    return dict(state["hosts"]) if state else {}


def status(directory: str | Path) -> list[dict[str, str]]:
    """``hib lab status`` rows: ``[{host, provider, endpoint}]`` (empty when not running)."""
    state = _read_state(directory)
    if not state or not pid_alive(int(state["pid"])):
        return []
    rows = []
    for host, hv in sorted(state["hosts"].items()):
        endpoint = (
            hv.get("hib_endpoint")
            or hv.get("hib_api")
            or hv.get("hib_url")
            or hv.get("hib_path", "")
        )
        rows.append({"host": host, "provider": hv["hib_provider"], "endpoint": str(endpoint)})
    return rows


def secrets(directory: str | Path) -> list[str]:
    """Every planted provider credential, one string each."""
    state = _read_state(directory)
    return list(state["secrets"]) if state else []


def servers(directory: str | Path) -> dict[str, str]:
    """Base URLs of the stand-in servers (fault control at ``<url>/_hib/...``)."""
    state = _read_state(directory)
    return dict(state["servers"]) if state else {}


# -- the background process ------------------------------------------------------------------
def _images(
    rng: random.Random,
    n: int,
    folders: list[str],
    shared: dict[str, bytes],
) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for i in range(n):
        folder = folders[i % len(folders)]
        ext, data = image(rng)
        # Same basename in every folder, different bytes: identity must be the full key.
        out[f"{folder}/img-{i // len(folders):03d}{ext}".lstrip("/")] = data
    for i, (name, data) in enumerate(shared.items()):
        out[f"{folders[i % len(folders)]}/{name}".lstrip("/")] = data
    return out


def _secret(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randbytes(12).hex()}"


def _serve_app(app: WSGIApp, handler: Any = None) -> tuple[Any, FaultMiddleware]:
    from werkzeug.serving import make_server

    wrapped = FaultMiddleware(app)
    kwargs = {"request_handler": handler} if handler is not None else {}
    server = make_server("127.0.0.1", 0, wrapped, threaded=True, **kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, wrapped


def serve(directory: Path, seed: int | str) -> None:
    """Run every stand-in until SIGTERM (the body of the background process)."""
    from moto.server import MotoRequestHandler

    from hib_orchestrator.standins.github import GithubApp, commit_files
    from hib_orchestrator.standins.imgur import ImgurApp
    from hib_orchestrator.standins.s3 import s3_app, seed_bucket
    from hib_orchestrator.standins.smms import SmmsApp

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Integers and strings (``hib lab up --seed``) are both deterministic seeds.
    rng = random.Random(int(seed) if str(seed).isdigit() else str(seed))
    pool = [image(rng) for _ in range(3)]
    shared = {f"shared-{i}{ext}": data for i, (ext, data) in enumerate(pool)}
    sec = {
        "s3_key": "AKIA" + rng.randbytes(8).hex().upper(),
        "s3_secret": _secret(rng, "s3sk-"),
        "gh_token": _secret(rng, "ghp_"),
        "smms_token": _secret(rng, "smms-"),
        "imgur_access": _secret(rng, "imgat-"),
        "imgur_refresh": _secret(rng, "imgrt-"),
        "imgur_client_id": _secret(rng, "imgci-"),
        "imgur_client_secret": _secret(rng, "imgcs-"),
    }
    servers: dict[str, str] = {}

    s3_server, _ = _serve_app(s3_app(sec["s3_key"]), MotoRequestHandler)
    servers["s3"] = s3 = f"http://127.0.0.1:{s3_server.port}"
    folders = ["2023/01", "2024/01", "albums/trip/day1", ""]
    seed_bucket(s3, sec["s3_key"], sec["s3_secret"], S3_BUCKET, _images(rng, 40, folders, shared))
    seed_bucket(
        s3, sec["s3_key"], sec["s3_secret"], OSS_BUCKET, _images(rng, 10, ["oss/a", "oss/b"], {})
    )
    seed_bucket(
        s3, sec["s3_key"], sec["s3_secret"], COS_BUCKET, _images(rng, 10, ["cos/a", "cos/b"], {})
    )

    gh_root = directory / "github"
    bare = gh_root / "lab" / "imagebed.git"
    if not bare.exists():
        commit_files(bare, _images(rng, 20, ["img/2023", "img/2024", "docs/assets"], shared))
    gh_app = GithubApp(gh_root, sec["gh_token"], "")
    gh_server, _ = _serve_app(gh_app)
    servers["github"] = gh_app.base_url = f"http://127.0.0.1:{gh_server.port}"

    smms_imgs = _images(rng, 25, ["2024/05/01", "2024/05/02", "2024/06/11"], shared)
    smms_app = SmmsApp(
        sec["smms_token"], {k: (k.rsplit("/", 1)[-1], v) for k, v in smms_imgs.items()}, ""
    )
    smms_server, _ = _serve_app(smms_app)
    servers["smms"] = smms_app.base_url = f"http://127.0.0.1:{smms_server.port}"

    imgur_imgs = {}
    for i in range(60):
        ext, data = image(rng)
        imgur_imgs[f"Im{rng.randbytes(3).hex()}{i:02d}"] = (ext, f"photo{i % 7}{ext}", data)
    imgur_app = ImgurApp(
        access_token=sec["imgur_access"],
        refresh_token=sec["imgur_refresh"],
        client_id=sec["imgur_client_id"],
        client_secret=sec["imgur_client_secret"],
        images=imgur_imgs,
        base_url="",
    )
    imgur_server, _ = _serve_app(imgur_app)
    servers["imgur"] = imgur_app.base_url = f"http://127.0.0.1:{imgur_server.port}"

    local = directory / "local"
    for key, data in _images(rng, 10, ["old/2019", "old/2020"], shared).items():
        (local / key).parent.mkdir(parents=True, exist_ok=True)
        (local / key).write_bytes(data)

    hosts = _hosts(servers, sec, bare, local)
    state = {
        "pid": os.getpid(),
        "seed": seed,
        "servers": servers,
        "hosts": hosts,
        "secrets": sorted(sec.values()),
        "github_bare": str(bare),
    }
    tmp = _state_path(directory).with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, _state_path(directory))

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    for server in (s3_server, gh_server, smms_server, imgur_server):
        server.shutdown()


def _hosts(
    servers: dict[str, str],
    sec: dict[str, str],
    bare: Path,
    local: Path,
) -> dict[str, dict[str, Any]]:
    s3_common = {
        "hib_endpoint": servers["s3"],
        "hib_access_key_id": sec["s3_key"],
        "hib_secret_access_key": sec["s3_secret"],
        "hib_addressing_style": "path",
        "ansible_connection": "local",
    }
    return {
        "s3-001": {
            "hib_provider": "s3",
            "hib_bucket": S3_BUCKET,
            "hib_region": "us-east-1",
            **s3_common,
        },
        "oss-001": {"hib_provider": "oss", "hib_bucket": OSS_BUCKET, **s3_common},
        "cos-001": {"hib_provider": "cos", "hib_bucket": COS_BUCKET, **s3_common},
        "github-001": {
            "hib_provider": "github",
            "hib_repo": GITHUB_REPO,
            "hib_mode": "mirror",
            "hib_url": str(bare),
            "hib_branch": "main",
            "hib_token": sec["gh_token"],
            "ansible_connection": "local",
        },
        "github-002": {
            "hib_provider": "github",
            "hib_repo": GITHUB_REPO,
            "hib_mode": "api",
            "hib_api": servers["github"],
            "hib_branch": "main",
            "hib_token": sec["gh_token"],
            "ansible_connection": "local",
        },
        "smms-001": {
            "hib_provider": "smms",
            "hib_endpoint": servers["smms"],
            "hib_token": sec["smms_token"],
            "ansible_connection": "local",
        },
        "imgur-001": {
            "hib_provider": "imgur",
            "hib_api": servers["imgur"],
            "hib_client_id": sec["imgur_client_id"],
            "hib_client_secret": sec["imgur_client_secret"],
            "hib_refresh_token": sec["imgur_refresh"],
            "hib_access_token": sec["imgur_access"],
            "ansible_connection": "local",
        },
        "local-001": {
            "hib_provider": "local",
            "hib_path": str(local),
            "ansible_connection": "local",
        },
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m hib_orchestrator.standins.fleet DIR [--seed S]``."""
    parser = argparse.ArgumentParser(description="hib provider stand-ins")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", default="0")
    args = parser.parse_args(argv)
    args.directory.mkdir(parents=True, exist_ok=True)
    serve(args.directory, args.seed)


if __name__ == "__main__":
    main()
