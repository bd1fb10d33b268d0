"""Integration fixtures: a real lab (via the `hib` CLI), real ansible-playbook runs, real sshd."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HIB = str(BIN / "hib")
PLAYBOOK = REPO / "playbooks" / "backup.yml"
PER_HOST_PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "per_host.yml"
CALLBACKS = Path(__file__).resolve().parent / "callback_plugins"
SSHD = "/usr/sbin/sshd"


def hib(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real ``hib`` CLI with ``HIB_HOME=home``."""
    env = {**os.environ, "HIB_HOME": str(home)}
    proc = subprocess.run([HIB, *args], env=env, capture_output=True, text=True, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"hib {' '.join(args)} -> {proc.returncode}: {proc.stderr}")
    return proc


@dataclass
class PlaybookRun:
    """One finished ansible-playbook run: exit code, output and every task result."""

    rc: int
    stdout: str
    stderr: str
    results: list[dict[str, Any]] = field(default_factory=list)

    def device(self, host: str) -> dict[str, Any]:
        """The device result of ``host`` (its device_config task, or its entry of the batch)."""
        try:
            return dict(self.devices()[host])
        except KeyError:
            raise KeyError(host) from None

    def devices(self) -> dict[str, dict[str, Any]]:
        """host -> device result, from device_config tasks or device_batch results."""
        out: dict[str, dict[str, Any]] = {}
        for d in self.results:
            if d["action"].endswith("device_config"):
                out[d["host"]] = d["result"]
            elif d["action"].endswith("device_batch"):
                out.update(d["result"]["hosts"])
        return out

    def ansible_status(self, host: str) -> str:
        """What Ansible itself recorded for the device: ok, failed or unreachable."""
        statuses = [d["status"] for d in self.results if d["host"] == host
                    and d["action"].endswith(("device_config", "device_result"))]
        return statuses[-1] if statuses else "ok"

    def commit(self) -> dict[str, Any] | None:
        """The config_commit result (None if the task did not run)."""
        for doc in self.results:
            if doc["action"].endswith("config_commit"):
                return dict(doc["result"])
        return None


def run_playbook(home: Path, inventories: list[Path], *args: str, tag: str = "run",
                 env: dict[str, str] | None = None, playbook: Path = PLAYBOOK) -> PlaybookRun:
    """Run ``ansible-playbook playbooks/backup.yml`` (or ``playbook``) from the repo root like a
    user would."""
    results = home / f"results-{tag}-{os.getpid()}-{len(list(home.glob('results-*')))}.jsonl"
    full_env = {
        **os.environ,
        "HIB_HOME": str(home),
        "HIB_TEST_RESULTS": str(results),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **(env or {}),
    }
    full_env.pop("HIB_RUN_ID", None)
    cmd = [str(BIN / "ansible-playbook"), str(playbook)]
    for inventory in inventories:
        cmd += ["-i", str(inventory)]
    proc = subprocess.run([*cmd, *args], cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=240)
    docs = [json.loads(line) for line in results.read_text().splitlines()] \
        if results.exists() else []
    for doc in docs:  # Ansible keeps the verdict outside the result dict it hands callbacks
        doc["result"]["failed"] = doc["status"] == "failed"
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, docs)


def git(store: Path, *args: str) -> str:
    """Run git in the config store and return stdout."""
    return subprocess.run(["git", *args], cwd=store, capture_output=True, text=True,
                          check=True).stdout


@dataclass
class Lab:
    """A running lab: home, inventory, host vars."""

    home: Path
    inventory: Path
    path: str = "batch"

    @property
    def store(self) -> Path:
        return self.home / "configs"

    def hosts(self) -> dict[str, dict[str, Any]]:
        doc = yaml.safe_load(self.inventory.read_text())
        out: dict[str, dict[str, Any]] = {}
        for group in doc["all"]["children"]["network"]["children"].values():
            out.update(group["hosts"])
        return out

    def secrets(self) -> list[str]:
        """Planted config secrets plus login passwords and enable secrets of the inventory."""
        planted = [s for s in hib(self.home, "lab", "secrets").stdout.splitlines() if s.strip()]
        creds = [str(v[k]) for v in self.hosts().values()
                 for k in ("ansible_password", "hib_enable_secret") if v.get(k)]
        return planted + creds

    def fault(self, host: str, kind: str) -> None:
        hib(self.home, "lab", "fault", host, kind)

    def mutate(self, count: int) -> list[str]:
        out = hib(self.home, "lab", "mutate", "--devices", str(count), "--json").stdout
        return list(json.loads(out)["hosts"])

    def run(self, *args: str, extra_inventory: Path | None = None, tag: str = "run",
            env: dict[str, str] | None = None, playbook: Path | None = None) -> PlaybookRun:
        inventories = [self.inventory] + ([extra_inventory] if extra_inventory else [])
        default, path_env = PATHS[self.path]
        return run_playbook(self.home, inventories, *args, tag=tag,
                            env={**path_env, **(env or {})}, playbook=playbook or default)


# Every lab test runs against playbooks/backup.yml as shipped (device_batch: one task for the
# play batch) and against the per-host form (device_config: one task per device): same results,
# same store. "fleet" is the per-host form under the opt-in hib.orchestrator.fleet strategy.
PATHS: dict[str, tuple[Path, dict[str, str]]] = {
    "batch": (PLAYBOOK, {}),
    "per_host": (PER_HOST_PLAYBOOK, {}),
    "fleet": (PER_HOST_PLAYBOOK, {"ANSIBLE_STRATEGY": "hib.orchestrator.fleet"}),
}


@pytest.fixture(scope="module", params=["batch", "per_host"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Lab]:
    """16 devices, two of each of the 8 platforms, in a private HIB_HOME; always stopped."""
    home = tmp_path_factory.mktemp("hib-home")
    try:
        out = hib(home, "lab", "up", "--devices", "16", "--seed", "7").stdout
        inventory = Path(out.strip().splitlines()[-1])
        yield Lab(home=home, inventory=inventory, path=request.param)
    finally:
        hib(home, "lab", "down", check=False)

@dataclass
class Sshd:
    """A running sshd: where it listens, its config file, the client key, the process."""

    port: int
    config: Path
    client_key: Path
    user: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Terminate this sshd (only the process this fixture started)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sshd(workdir: Path) -> Sshd:
    """Start sshd in the foreground (``-D``) with its own host key, pid file and config."""
    workdir.mkdir(parents=True, exist_ok=True)
    # sshd refuses to start without its (compile-time) privilege separation directory.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_key, client_key = workdir / "host_ed25519", workdir / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True)
        key.chmod(0o600)
    authorized = workdir / "authorized_keys"
    authorized.write_text((workdir / "client_ed25519.pub").read_text())
    authorized.chmod(0o600)
    port = _free_port()
    config = workdir / "sshd_config"
    config.write_text(
        "# private sshd for hib tests\n"
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {host_key}\n"
        f"PidFile {workdir / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "PrintMotd no\n"
        "LogLevel ERROR\n"
        "Subsystem sftp internal-sftp\n"
    )
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("sshd did not start listening")
    user = os.environ.get("USER") or "root"
    return Sshd(port=port, config=config, client_key=client_key, user=user, process=proc)


@pytest.fixture
def sshd_peer(tmp_path: Path) -> Iterator[Sshd]:
    """A real OpenSSH server on 127.0.0.1 (own config, host key, pid file); always stopped."""
    server = start_sshd(tmp_path / "sshd")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def playbook() -> Any:
    """The :func:`run_playbook` helper, for tests that need their own inventory."""
    return run_playbook


@pytest.fixture
def store_git() -> Any:
    """The :func:`git` helper."""
    return git
