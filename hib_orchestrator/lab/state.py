"""The lab's identity and files: what was asked for (:class:`LabSpec`), the devices it implies,
where everything lives in ``settings.lab_dir``, and the mutable device state (mutations, faults).

Everything a device is (name, address, credentials) follows from the spec alone, so the CLI,
the daemon and the secrets listing agree without talking to each other.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.lab.model import SecretBox
from hib_orchestrator.lab.platforms import PLATFORM_NAMES, PLATFORMS

FAULT_KINDS = ("auth", "hang", "refuse", "truncate", "slow", "none")
MAX_DEVICES = 62_500  # 250 addresses per /24 across 127.42.0.0 - 127.42.249.255
DEFAULT_DEVICES = 16
DEFAULT_SEED = "hib"


@dataclass(frozen=True, slots=True)
class LabSpec:
    """What ``hib lab up`` was asked for. Two specs equal -> the same lab."""

    devices: int = DEFAULT_DEVICES
    platforms: tuple[str, ...] = PLATFORM_NAMES
    seed: str = DEFAULT_SEED

    def validate(self) -> LabSpec:
        """Return self, or raise ConfigError naming what is wrong."""
        if not 1 <= self.devices <= MAX_DEVICES:
            raise ConfigError(f"--devices must be between 1 and {MAX_DEVICES}, not {self.devices}")
        unknown = [p for p in self.platforms if p not in PLATFORMS]
        if unknown or not self.platforms:
            raise ConfigError(
                f"unknown platform(s) {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(PLATFORM_NAMES)}"
            )
        return self

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``lab.json``."""
        return {"devices": self.devices, "platforms": list(self.platforms), "seed": self.seed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabSpec:
        """Inverse of :meth:`to_json`."""
        return cls(int(data["devices"]), tuple(data["platforms"]), str(data["seed"]))


@dataclass(frozen=True, slots=True)
class Device:
    """One lab device: who it is and how to log in."""

    index: int
    host: str
    platform: str
    address: str
    username: str
    password: str
    enable_secret: str | None

    def credentials(self) -> list[str]:
        """The login secrets that appear in the inventory."""
        return [self.password] + ([self.enable_secret] if self.enable_secret else [])


def address_of(index: int) -> str:
    """Loopback address of device ``index`` (1-based): 127.42.0.2, 127.42.0.3, ..."""
    return f"127.42.{index // 250}.{index % 250 + 1}"


def device(spec: LabSpec, index: int) -> Device:
    """Device ``index`` (1-based) of the lab; platforms go round-robin."""
    name = spec.platforms[(index - 1) % len(spec.platforms)]
    plat = PLATFORMS[name]
    box = SecretBox(spec.seed, index)
    user = "op" + box.get("login_user", "word")[:6].lower()
    return Device(
        index=index,
        host=f"{plat.short}-{index:03d}",
        platform=name,
        address=address_of(index),
        username=user,
        password=box.get("login_password", "word"),
        enable_secret=box.get("enable_secret", "word") if plat.enable_command else None,
    )


def devices(spec: LabSpec) -> list[Device]:
    """Every device of the lab, in index order."""
    return [device(spec, i) for i in range(1, spec.devices + 1)]


@dataclass(frozen=True, slots=True)
class LabPaths:
    """Files of one lab in ``settings.lab_dir``."""

    root: Path

    @property
    def spec(self) -> Path:
        """``lab.json``: the spec and port of the running lab."""
        return self.root / "lab.json"

    @property
    def state(self) -> Path:
        """``state.json``: mutation counters and faults (written by the daemon)."""
        return self.root / "state.json"

    @property
    def pid(self) -> Path:
        """Daemon pid file."""
        return self.root / "lab.pid"

    @property
    def log(self) -> Path:
        """Daemon log."""
        return self.root / "lab.log"

    @property
    def host_key(self) -> Path:
        """SSH host key shared by the devices."""
        return self.root / "ssh_host_ed25519_key"

    @property
    def inventory(self) -> Path:
        """The Ansible inventory of the lab."""
        return self.root / "inventory.yml"

    @property
    def control(self) -> str:
        """Control socket address; abstract when the path would be too long for AF_UNIX."""
        path = str(self.root / "control.sock")
        if len(path.encode()) < 100:
            return path
        return "\0hib-lab-" + hashlib.sha256(path.encode()).hexdigest()[:16]


@dataclass(slots=True)
class DeviceState:
    """What changes while the lab runs."""

    mutations: dict[str, int] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    mutate_rounds: int = 0

    def save(self, path: Path) -> None:
        """Write atomically (readers never see half a file)."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> DeviceState:
        """Read the state file, or an empty state when there is none."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls()
        return cls(dict(data.get("mutations", {})), dict(data.get("faults", {})),
                   int(data.get("mutate_rounds", 0)))
