"""A lab device's configuration as data, built deterministically from (seed, index, mutations).

The same :class:`DeviceModel` is rendered into every vendor syntax by
:mod:`hib_orchestrator.lab.render`. ``mutate`` steps only touch significant content
(descriptions, VLANs, ACL entries, routes, host entries), never the volatile lines, which the
renderers add at fetch time.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

T = TypeVar("T")

_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
_HEX = "0123456789abcdef"

SITES = ("fra1", "ams2", "lon3", "par1", "nyc4", "sjc2", "sin1", "tyo3", "syd1", "gru2")
PEERS = ("core", "dist", "edge", "access", "fw", "lb", "wan", "dc")
SERVICES = ("voice", "data", "mgmt", "guest", "iot", "cctv", "printers", "servers", "backup",
            "storage", "vmotion", "dmz", "lab", "wifi", "hr", "finance")


_TABLES: dict[str, bytes] = {}


class SecretBox:
    """Deterministic, unique per-device secret strings; remembers which ones were used.

    A renderer asks for secrets by name; :attr:`used` then lists exactly what one rendering
    planted, which is how ``hib lab secrets`` stays in step with the configs.
    """

    def __init__(self, seed: str, index: int) -> None:
        self._seed = seed
        self._index = index
        self.used: dict[str, str] = {}

    def _draw(self, name: str, length: int, alphabet: str) -> str:
        table = _TABLES.get(alphabet)
        if table is None:
            table = _TABLES[alphabet] = bytes(
                ord(alphabet[b % len(alphabet)]) for b in range(256)
            )
        key = f"{self._seed}|{self._index}|{name}".encode()
        return hashlib.shake_256(key).digest(length).translate(table).decode()

    def get(self, name: str, kind: str = "word") -> str:
        """The secret called ``name`` in the given shape (``word``, ``type9``, ``sha512``, ...)."""
        shapes = {
            "word": lambda: self._draw(name, 16, _ALNUM),
            "type9": lambda: "$9$" + self._draw(name + "s", 14, _B64) + "$"
            + self._draw(name, 43, _B64),
            "type5": lambda: "$5$" + self._draw(name + "s", 8, _B64) + "$"
            + self._draw(name, 43, _B64),
            "sha512": lambda: "$6$" + self._draw(name + "s", 16, _B64) + "$"
            + self._draw(name, 86, _B64),
            "junos9": lambda: "$9$" + self._draw(name, 24, _ALNUM),
            "hex": lambda: "0x" + self._draw(name, 32, _HEX),
            "type7": lambda: "0" + str(2 + self._index % 7)
            + self._draw(name, 20, "0123456789ABCDEF"),
            "cipher": lambda: "$c$3$" + self._draw(name, 44, _B64),
        }
        value = shapes[kind]()
        self.used[name] = value
        return value


_SLOT = re.compile("\x00([TC])([^\x00]*)\x00")


class Volatile:
    """Placeholders for the values that change on every fetch.

    Renderers put these into the text once; :func:`fill` turns a cached rendering into what one
    fetch prints, so a fetch costs a substitution instead of a whole rendering.
    """

    def ts(self, fmt: str) -> str:
        """The fetch time, formatted with ``strftime(fmt)``."""
        return f"\x00T{fmt}\x00"

    def counter(self, base: int, step: int, mod: int) -> str:
        """``base + (fetch number * step) % mod``: a number that moves on every fetch."""
        return f"\x00C{base},{step},{mod}\x00"


def fill(template: str, now: datetime, fetch_no: int) -> str:
    """Replace :class:`Volatile` placeholders with this fetch's values."""

    def value(match: re.Match[str]) -> str:
        if match[1] == "T":
            return now.strftime(match[2])
        base, step, mod = (int(x) for x in match[2].split(","))
        return str(base + (fetch_no * step) % mod)

    return _SLOT.sub(value, template)


def _dotted(n: int) -> str:
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


@dataclass(frozen=True, slots=True)
class Prefix:
    """An IPv4 address or network with the spellings configs need (cheaper than ipaddress)."""

    ip: str
    network_address: str
    prefixlen: int
    netmask: str
    hostmask: str
    text: str

    def __str__(self) -> str:
        return self.text

    @classmethod
    def make(cls, addr: int, prefixlen: int, interface: bool = False) -> Prefix:
        """``addr/prefixlen``; an interface keeps its host address, a network is masked."""
        mask = (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF
        ip, net = _dotted(addr), _dotted(addr & mask)
        return cls(ip, net, prefixlen, _dotted(mask), _dotted(~mask & 0xFFFFFFFF),
                   f"{ip if interface else net}/{prefixlen}")


@dataclass(slots=True)
class Interface:
    """One physical or logical interface."""

    name: str
    description: str
    address: Prefix | None = None
    access_vlan: int | None = None
    shutdown: bool = False
    mtu: int = 1500


@dataclass(slots=True)
class AclEntry:
    """One permit/deny line."""

    action: str
    proto: str
    src: Prefix
    dst: Prefix
    port: int | None = None


@dataclass(slots=True)
class DeviceModel:
    """Everything a config is rendered from."""

    hostname: str
    index: int
    platform: str
    site: str
    asn: int
    router_id: str
    interfaces: list[Interface] = field(default_factory=list)
    vlans: dict[int, str] = field(default_factory=dict)
    acls: dict[str, list[AclEntry]] = field(default_factory=dict)
    ospf_networks: list[tuple[Prefix, int]] = field(default_factory=list)
    bgp_neighbors: list[tuple[str, int, str]] = field(default_factory=list)
    static_routes: list[tuple[Prefix, str]] = field(default_factory=list)
    ntp_servers: list[str] = field(default_factory=list)
    log_hosts: list[str] = field(default_factory=list)
    dns_servers: list[str] = field(default_factory=list)
    tacacs_servers: list[str] = field(default_factory=list)
    hosts_entries: list[tuple[str, str]] = field(default_factory=list)
    users: list[str] = field(default_factory=list)


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    # random.choice costs several Python calls; one random() is plenty for generated configs.
    return seq[int(rng.random() * len(seq))]


def _below(rng: random.Random, start: int, stop: int | None = None) -> int:
    if stop is None:
        start, stop = 0, start
    return start + int(rng.random() * (stop - start))


def _addr(rng: random.Random) -> int:
    return (10 << 24) | (rng.getrandbits(16) << 8) | _below(rng, 1, 255)


def _ip(rng: random.Random) -> str:
    return _dotted(_addr(rng))


def _net(rng: random.Random, prefix: int) -> Prefix:
    return Prefix.make(_addr(rng), prefix)


def _interface_names(platform: str, count: int) -> list[str]:
    if platform in ("cisco_ios",):
        return [f"GigabitEthernet1/0/{i + 1}" for i in range(count)]
    if platform == "cisco_nxos" or platform == "arista_eos":
        return [f"Ethernet1/{i + 1}" for i in range(count)]
    if platform == "cisco_xr":
        return [f"TenGigE0/0/0/{i}" for i in range(count)]
    if platform == "juniper_junos":
        return [f"ge-0/0/{i}" for i in range(count)]
    if platform in ("huawei", "hp_comware"):
        return [f"GigabitEthernet1/0/{i + 1}" for i in range(count)]
    return [f"eth{i}" for i in range(count)]


def build(seed: str, index: int, hostname: str, platform: str, mutations: int = 0) -> DeviceModel:
    """Build the model of device ``index`` after ``mutations`` mutate steps."""
    rng = random.Random(f"{seed}|{index}|base")
    site = SITES[index % len(SITES)]
    model = DeviceModel(
        hostname=hostname,
        index=index,
        platform=platform,
        site=site,
        asn=64512 + _below(rng, 1000),
        router_id=f"10.255.{index // 250}.{index % 250 + 1}",
    )
    nvlans = _below(rng, 12, 24)
    vlan_ids = sorted(rng.sample(range(10, 4000), nvlans))
    model.vlans = {v: f"{_pick(rng, SERVICES)}-{v}" for v in vlan_ids}
    count = _below(rng, 24, 49) if platform != "linux" else 2
    for n, name in enumerate(_interface_names(platform, count)):
        peer = f"{_pick(rng, PEERS)}-{_pick(rng, SITES)}-{_below(rng, 1, 40):02d}"
        iface = Interface(name=name, description=f"to {peer} port {_below(rng, 1, 49)}")
        if n % 3 == 0:
            iface.address = Prefix.make(_addr(rng), _pick(rng, (24, 30, 31)), interface=True)
        else:
            iface.access_vlan = _pick(rng, vlan_ids)
        iface.shutdown = rng.random() < 0.1
        iface.mtu = _pick(rng, (1500, 1500, 9000, 9216))
        model.interfaces.append(iface)
    for acl in ("MGMT-IN", "EDGE-IN", "VTY-ACCESS"):
        model.acls[acl] = [_acl_entry(rng) for _ in range(_below(rng, 6, 14))]
    model.ospf_networks = [(_net(rng, 24), _pick(rng, (0, 0, 1, 10))) for _ in range(6)]
    model.bgp_neighbors = [
        (_ip(rng), 64512 + _below(rng, 1000), f"{_pick(rng, PEERS)}-{_pick(rng, SITES)}")
        for _ in range(_below(rng, 2, 7))
    ]
    model.static_routes = [(_net(rng, 16), _ip(rng)) for _ in range(_below(rng, 3, 9))]
    model.ntp_servers = [_ip(rng) for _ in range(3)]
    model.log_hosts = [_ip(rng) for _ in range(2)]
    model.dns_servers = [_ip(rng) for _ in range(2)]
    model.tacacs_servers = [_ip(rng) for _ in range(2)]
    model.hosts_entries = [
        (_ip(rng), f"{_pick(rng, PEERS)}-{_pick(rng, SITES)}-{n:02d}.{site}.example.net")
        for n in range(_below(rng, 8, 20))
    ]
    model.users = ["admin", f"noc{index % 7}", "backup"]
    for step in range(1, mutations + 1):
        mutate(model, seed, step)
    return model


def _acl_entry(rng: random.Random) -> AclEntry:
    return AclEntry(
        action=_pick(rng, ("permit", "permit", "deny")),
        proto=_pick(rng, ("tcp", "udp", "ip")),
        src=_net(rng, _pick(rng, (8, 16, 24))),
        dst=_net(rng, _pick(rng, (16, 24, 32))),
        port=_pick(rng, (22, 53, 123, 161, 443, 514, 8080)),
    )


MUTATIONS = ("description", "vlan", "acl", "route", "hosts")


def mutate(model: DeviceModel, seed: str, step: int) -> str:
    """Apply mutate step ``step`` (deterministic) and say what kind of change it was."""
    rng = random.Random(f"{seed}|{model.index}|mutation|{step}")
    # Linux devices only serve hostname/hosts/sshd_config, so their change goes to /etc/hosts.
    kinds = ("hosts",) if model.platform == "linux" else MUTATIONS[:4]
    kind = _pick(rng, kinds)
    if kind == "description":
        iface = _pick(rng, model.interfaces)
        iface.description = f"changed {step}: to {_pick(rng, PEERS)}-{_pick(rng, SITES)}"
    elif kind == "vlan":
        free = [v for v in range(4001, 4090) if v not in model.vlans]
        vid = _pick(rng, free)
        model.vlans[vid] = f"added-{step}-{_pick(rng, SERVICES)}"
    elif kind == "acl":
        model.acls["EDGE-IN"].append(_acl_entry(rng))
    elif kind == "route":
        model.static_routes.append((_net(rng, 24), _ip(rng)))
    else:
        model.hosts_entries.append((_ip(rng), f"added-{step}.{model.site}.example.net"))
    return kind
