"""Cisco-style renderers: IOS, NX-OS, IOS XR and Arista EOS running configs.

Each renderer takes the model, the :class:`~hib_orchestrator.lab.model.SecretBox` (so the
secrets it plants are recorded), and the :class:`~hib_orchestrator.lab.model.Volatile`
placeholders that only the volatile lines use (filled in at every fetch).
"""

from __future__ import annotations

from datetime import UTC, datetime

from hib_orchestrator.lab.model import AclEntry, DeviceModel, Prefix, SecretBox, Volatile, fill

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def wildcard(net: Prefix) -> str:
    """Cisco wildcard mask of a network."""
    return net.hostmask


def _acl_ios(entry: AclEntry) -> str:
    src = f"{entry.src.network_address} {wildcard(entry.src)}"
    dst = (f"host {entry.dst.network_address}" if entry.dst.prefixlen == 32
           else f"{entry.dst.network_address} {wildcard(entry.dst)}")
    port = f" eq {entry.port}" if entry.proto != "ip" and entry.port else ""
    return f" {entry.action} {entry.proto} {src} {dst}{port}"


def _acl_prefix(entry: AclEntry, seq: int) -> str:
    port = f" eq {entry.port}" if entry.proto != "ip" and entry.port else ""
    return f" {seq} {entry.action} {entry.proto} {entry.src} {entry.dst}{port}"


def _ts_ios(v: Volatile) -> str:
    return v.ts("%H:%M:%S UTC %a %b %d %Y")


def _ts_unix(v: Volatile) -> str:
    return v.ts("%a %b %d %H:%M:%S %Y")


def render_ios(m: DeviceModel, s: SecretBox, v: Volatile) -> list[str]:
    """``show running-config`` of a Catalyst-like IOS switch."""
    body: list[str] = [
        "version 15.2", "no service pad", "service timestamps debug datetime msec",
        "service timestamps log datetime msec", "service password-encryption", "!",
        f"hostname {m.hostname}", "!", "boot-start-marker", "boot-end-marker", "!",
        "logging buffered 64000 informational",
        f"enable secret 9 {s.get('enable_hash', 'type9')}", "!",
        "aaa new-model", "aaa group server tacacs+ TACACS",
    ]
    body += [f" server-private {ip} key 7 {s.get(f'tacacs_key_{n}', 'type7')}"
             for n, ip in enumerate(m.tacacs_servers)]
    body += [
        "aaa authentication login default group TACACS local",
        "aaa authorization exec default group TACACS local",
        "aaa accounting exec default start-stop group TACACS", "!",
        "clock timezone UTC 0 0", "ip routing", "!",
        f"ip domain name {m.site}.example.net",
    ]
    body += [f"ip name-server {ip}" for ip in m.dns_servers]
    body += ["!", "spanning-tree mode rapid-pvst", "spanning-tree extend system-id", "!"]
    for user in m.users:
        body.append(f"username {user} privilege 15 secret 9 {s.get(f'user_{user}', 'type9')}")
    body.append("!")
    for vid, name in sorted(m.vlans.items()):
        body += [f"vlan {vid}", f" name {name}", "!"]
    body += ["key chain OSPF-KEYS", " key 1",
             f"  key-string {s.get('ospf_key', 'word')}", "!"]
    for iface in m.interfaces:
        body += [f"interface {iface.name}", f" description {iface.description}"]
        if iface.address:
            body += [" no switchport", f" ip address {iface.address.ip} {iface.address.netmask}",
                     " ip ospf authentication key-chain OSPF-KEYS"]
        else:
            body += [" switchport mode access", f" switchport access vlan {iface.access_vlan}",
                     " spanning-tree portfast"]
        if iface.mtu != 1500:
            body.append(f" mtu {iface.mtu}")
        if iface.shutdown:
            body.append(" shutdown")
        body.append("!")
    body += ["router ospf 1", f" router-id {m.router_id}", " passive-interface default"]
    body += [f" network {net.network_address} {wildcard(net)} area {area}"
             for net, area in m.ospf_networks]
    body += ["!", f"router bgp {m.asn}", f" bgp router-id {m.router_id}",
             " bgp log-neighbor-changes"]
    for ip, asn, desc in m.bgp_neighbors:
        body += [f" neighbor {ip} remote-as {asn}", f" neighbor {ip} description {desc}"]
    body.append("!")
    body += [f"ip route {net.network_address} {net.netmask} {gw}" for net, gw in m.static_routes]
    body.append("!")
    for name, entries in m.acls.items():
        body.append(f"ip access-list extended {name}")
        body += [_acl_ios(e) for e in entries]
        body.append("!")
    body += [
        "crypto isakmp policy 10", " encr aes 256", " authentication pre-share", " group 14",
        f"crypto isakmp key {s.get('isakmp_psk', 'word')} address {m.bgp_neighbors[0][0]}", "!",
        f"logging host {m.log_hosts[0]}", f"logging host {m.log_hosts[1]}", "!",
        f"snmp-server community {s.get('snmp_ro', 'word')} RO MGMT-IN",
        f"snmp-server community {s.get('snmp_rw', 'word')} RW MGMT-IN",
        f"snmp-server location {m.site} row {m.index % 12 + 1} rack {m.index % 40 + 1}",
        "snmp-server contact noc@example.net", "!",
        f"ntp authentication-key 1 md5 {s.get('ntp_key', 'type7')} 7",
        "ntp authenticate", "ntp trusted-key 1",
    ]
    body += [f"ntp server {ip} key 1" for ip in m.ntp_servers]
    body.append(f"ntp clock-period {v.counter(17179000, 7919, 9973)}")
    body += [
        "!", "banner motd ^C", f"  {m.hostname}: authorised access only.",
        "  All sessions are logged.", "^C", "!",
        "line con 0", " logging synchronous", "line vty 0 4", " access-class VTY-ACCESS in",
        " exec-timeout 15 0", " transport input ssh", "line vty 5 15", " transport input none",
        "!", "end",
    ]
    # The byte count of what is printed (placeholders filled; their printed width is fixed).
    size = len(fill("\n".join(body), _EPOCH, 0)) + 1
    head = [
        "Building configuration...", "", f"Current configuration : {size} bytes", "!",
        f"! Last configuration change at {_ts_ios(v)} by admin",
        f"! NVRAM config last updated at {_ts_ios(v)} by admin", "!",
    ]
    return head + body


def render_nxos(m: DeviceModel, s: SecretBox, v: Volatile) -> list[str]:
    """``show running-config`` of a Nexus switch."""
    out = [
        "", "!Command: show running-config",
        f"!Running configuration last done at: {_ts_unix(v)}", f"!Time: {_ts_unix(v)}", "",
        "version 9.3(8) Bios:version 05.45", f"hostname {m.hostname}",
        "vdc " + m.hostname + " id 1", "  limit-resource vlan minimum 16 maximum 4094", "",
        "feature tacacs+", "feature ospf", "feature bgp", "feature interface-vlan",
        "feature lacp", "feature lldp", "",
    ]
    for user in m.users:
        out.append(f"username {user} password 5 {s.get(f'user_{user}', 'type5')}  role "
                   "network-admin")
    out += [f"ip domain-name {m.site}.example.net", "",
            f"tacacs-server key 7 \"{s.get('tacacs_key', 'type7')}\""]
    out += [f"tacacs-server host {ip}" for ip in m.tacacs_servers]
    out += ["aaa group server tacacs+ TACACS"]
    out += [f"    server {ip}" for ip in m.tacacs_servers]
    out += ["    use-vrf management", "aaa authentication login default group TACACS", "",
            f"snmp-server user admin network-admin auth md5 {s.get('snmp_auth', 'hex')} priv "
            f"{s.get('snmp_priv', 'hex')} localizedkey",
            f"snmp-server community {s.get('snmp_ro', 'word')} group network-operator",
            f"snmp-server location {m.site}", ""]
    out += [f"ntp server {ip} use-vrf management" for ip in m.ntp_servers]
    out += [f"logging server {ip} 6 use-vrf management" for ip in m.log_hosts]
    out.append("")
    for name, entries in m.acls.items():
        out.append(f"ip access-list {name}")
        out += [" " + _acl_prefix(e, 10 * (n + 1)) for n, e in enumerate(entries)]
    out.append("")
    out += [f"ip route {net} {gw}" for net, gw in m.static_routes]
    for vid, name in sorted(m.vlans.items()):
        out += [f"vlan {vid}", f"  name {name}"]
    out += ["", "vrf context management", "  ip route 0.0.0.0/0 10.0.0.1", ""]
    for iface in m.interfaces:
        out += [f"interface {iface.name}", f"  description {iface.description}"]
        if iface.address:
            out += ["  no switchport", f"  ip address {iface.address}",
                    "  ip router ospf 1 area 0.0.0.0"]
        else:
            out += ["  switchport", "  switchport mode access",
                    f"  switchport access vlan {iface.access_vlan}"]
        if iface.mtu != 1500:
            out.append(f"  mtu {iface.mtu}")
        out += ["  shutdown" if iface.shutdown else "  no shutdown", ""]
    out += ["interface mgmt0", "  vrf member management", f"  ip address {m.router_id}/24", "",
            "line console", "line vty", "  access-class VTY-ACCESS in", "",
            "router ospf 1", f"  router-id {m.router_id}",
            f"  authentication-key 3 {s.get('ospf_key', 'word')}",
            f"router bgp {m.asn}", f"  router-id {m.router_id}"]
    for ip, asn, desc in m.bgp_neighbors:
        out += [f"  neighbor {ip}", f"    remote-as {asn}", f"    description {desc}",
                "    address-family ipv4 unicast"]
    out.append("")
    return out


def render_xr(m: DeviceModel, s: SecretBox, v: Volatile) -> list[str]:
    """``show running-config`` of an IOS XR router."""
    out = [
        "Building configuration...", "!! IOS XR Configuration 7.5.2",
        f"!! Last configuration change at {_ts_unix(v)} by admin", "!",
        f"hostname {m.hostname}", "clock timezone UTC UTC",
        f"domain name {m.site}.example.net",
    ]
    out += [f"domain name-server {ip}" for ip in m.dns_servers]
    out += ["logging console informational"] + [f"logging {ip} vrf default" for ip in m.log_hosts]
    for user in m.users:
        out += [f"username {user}", " group root-lr", " group cisco-support",
                f" secret 10 {s.get(f'user_{user}', 'sha512')}", "!"]
    out += ["tacacs source-interface Loopback0 vrf default"]
    for n, ip in enumerate(m.tacacs_servers):
        out += [f"tacacs-server host {ip} port 49", f" key 7 {s.get(f'tacacs_key_{n}', 'type7')}",
                "!"]
    out += ["aaa group server tacacs+ TACACS"]
    out += [f" server {ip}" for ip in m.tacacs_servers]
    out += ["!", "aaa authentication login default group TACACS local", "!",
            "line default", " access-class ingress VTY-ACCESS", " transport input ssh", "!",
            f"snmp-server community {s.get('snmp_ro', 'word')} RO IPv4 MGMT-IN",
            f"snmp-server location {m.site}", "ntp", " authentication-key 1 md5 encrypted "
            f"{s.get('ntp_key', 'type7')}", " authenticate", " trusted-key 1"]
    out += [f" server {ip} key 1" for ip in m.ntp_servers]
    out += ["!", "interface Loopback0", f" ipv4 address {m.router_id} 255.255.255.255", "!"]
    for iface in m.interfaces:
        out += [f"interface {iface.name}", f" description {iface.description}"]
        if iface.address:
            out.append(f" ipv4 address {iface.address.ip} {iface.address.netmask}")
        if iface.mtu != 1500:
            out.append(f" mtu {iface.mtu + 14}")
        if iface.shutdown:
            out.append(" shutdown")
        out.append("!")
    for vid, name in sorted(m.vlans.items()):
        out += [f"interface Bundle-Ether1.{vid}", f" description {name}",
                f" encapsulation dot1q {vid}", "!"]
    for name, entries in m.acls.items():
        out.append(f"ipv4 access-list {name}")
        out += [_acl_prefix(e, 10 * (n + 1)) for n, e in enumerate(entries)]
        out.append("!")
    out += ["router static", " address-family ipv4 unicast"]
    out += [f"  {net} {gw}" for net, gw in m.static_routes]
    out += [" !", "!", "router ospf 1", f" router-id {m.router_id}", " area 0",
            f"  message-digest-key 1 md5 encrypted {s.get('ospf_key', 'type7')}"]
    out += [f"  interface {iface.name}" for iface in m.interfaces if iface.address]
    out += [" !", "!", f"router bgp {m.asn}", f" bgp router-id {m.router_id}",
            " address-family ipv4 unicast", " !"]
    for ip, asn, desc in m.bgp_neighbors:
        out += [f" neighbor {ip}", f"  remote-as {asn}", f"  description {desc}",
                "  address-family ipv4 unicast", "  !", " !"]
    out += ["!", "ssh server v2", "ssh server vrf default", "end"]
    return out


def render_eos(m: DeviceModel, s: SecretBox, v: Volatile) -> list[str]:
    """``show running-config`` of an Arista EOS switch."""
    out = [
        "! Command: show running-config", f"! device: {m.hostname} (vEOS-lab, EOS-4.30.1F)", "!",
        "! boot system flash:/vEOS-lab.swi", "!",
        f"! Startup-config last modified at {_ts_unix(v)} by admin",
        "no aaa root", "!",
    ]
    for user in m.users:
        out.append(f"username {user} privilege 15 role network-admin secret sha512 "
                   f"{s.get(f'user_{user}', 'sha512')}")
    out += ["!", f"enable password sha512 {s.get('enable_hash', 'sha512')}", "!",
            "transceiver qsfp default-mode 4x10G", "!", "service routing protocols model "
            "multi-agent", "!", f"hostname {m.hostname}",
            f"ip domain-name {m.site}.example.net"]
    out += [f"ip name-server vrf default {ip}" for ip in m.dns_servers]
    out += ["!"]
    out += [f"ntp server {ip}" for ip in m.ntp_servers]
    out += ["!", f"snmp-server community {s.get('snmp_ro', 'word')} ro",
            f"snmp-server location {m.site}", "!"]
    out += [f"tacacs-server host {ip} key 7 {s.get(f'tacacs_key_{n}', 'type7')}"
            for n, ip in enumerate(m.tacacs_servers)]
    out += ["!", "aaa group server tacacs+ TACACS"]
    out += [f"   server {ip}" for ip in m.tacacs_servers]
    out += ["!", "aaa authentication login default group TACACS local", "!",
            "spanning-tree mode mstp", "!"]
    for vid, name in sorted(m.vlans.items()):
        out += [f"vlan {vid}", f"   name {name}", "!"]
    for iface in m.interfaces:
        out += [f"interface {iface.name}", f"   description {iface.description}"]
        if iface.address:
            out += ["   no switchport", f"   ip address {iface.address}",
                    f"   ip ospf authentication-key 7 {s.get('ospf_key', 'type7')}"]
        else:
            out.append(f"   switchport access vlan {iface.access_vlan}")
        if iface.mtu != 1500:
            out.append(f"   mtu {iface.mtu}")
        if iface.shutdown:
            out.append("   shutdown")
        out.append("!")
    out += ["interface Management1", f"   ip address {m.router_id}/24", "!"]
    for name, entries in m.acls.items():
        out.append(f"ip access-list {name}")
        out += ["  " + _acl_prefix(e, 10 * (n + 1)) for n, e in enumerate(entries)]
        out.append("!")
    out.append("ip routing")
    out += [f"ip route {net} {gw}" for net, gw in m.static_routes]
    out += ["!", f"router bgp {m.asn}", f"   router-id {m.router_id}"]
    for ip, asn, desc in m.bgp_neighbors:
        out += [f"   neighbor {ip} remote-as {asn}", f"   neighbor {ip} description {desc}"]
    out += ["!", "router ospf 1", f"   router-id {m.router_id}"]
    out += [f"   network {net} area 0.0.0.{area}" for net, area in m.ospf_networks]
    out += ["!", "management ssh", "   ip access-group VTY-ACCESS in", "!", "end"]
    return out
