"""Non-Cisco renderers: Junos (set format), Huawei VRP, H3C/HP Comware and a Linux host."""

from __future__ import annotations

from hib_orchestrator.lab.model import DeviceModel, SecretBox, Volatile


def render_junos(m: DeviceModel, s: SecretBox, v: Volatile) -> list[str]:
    """``show configuration | display set`` of an MX/EX-like Junos box."""
    ts = v.ts("%Y-%m-%d %H:%M:%S UTC")
    out = [f"## Last commit: {ts} by admin", "set version 21.4R3.15",
           f"set system host-name {m.hostname}", f"set system domain-name {m.site}.example.net",
           f"set system root-authentication encrypted-password \"{s.get('root_hash', 'sha512')}\""]
    for n, user in enumerate(m.users):
        out += [f"set system login user {user} uid {2000 + n}",
                f"set system login user {user} class super-user",
                f"set system login user {user} authentication encrypted-password "
                f"\"{s.get(f'user_{user}', 'sha512')}\""]
    out += [f"set system name-server {ip}" for ip in m.dns_servers]
    for n, ip in enumerate(m.tacacs_servers):
        key = s.get(f"tacacs_key_{n}", "junos9")
        out.append(f"set system tacplus-server {ip} secret \"{key}\"")
    out += ["set system authentication-order tacplus", "set system authentication-order password",
            "set system services ssh root-login deny", "set system services netconf ssh",
            "set system syslog user * any emergency"]
    out += [f"set system syslog host {ip} any notice" for ip in m.log_hosts]
    out += ["set system ntp authentication-key 1 type md5 value "
            f"\"{s.get('ntp_key', 'junos9')}\"", "set system ntp trusted-key 1"]
    out += [f"set system ntp server {ip} key 1" for ip in m.ntp_servers]
    out += [f"set snmp location {m.site}",
            f"set snmp community {s.get('snmp_ro', 'word')} authorization read-only"]
    for iface in m.interfaces:
        base = f"set interfaces {iface.name}"
        out.append(f"{base} description \"{iface.description}\"")
        if iface.shutdown:
            out.append(f"{base} disable")
        if iface.mtu != 1500:
            out.append(f"{base} mtu {iface.mtu}")
        if iface.address:
            out.append(f"{base} unit 0 family inet address {iface.address}")
        else:
            out += [f"{base} unit 0 family ethernet-switching interface-mode access",
                    f"{base} unit 0 family ethernet-switching vlan members v{iface.access_vlan}"]
    out.append(f"set interfaces lo0 unit 0 family inet address {m.router_id}/32")
    out += [f"set routing-options static route {net} next-hop {gw}"
            for net, gw in m.static_routes]
    out += [f"set routing-options router-id {m.router_id}",
            f"set routing-options autonomous-system {m.asn}"]
    for ip, asn, desc in m.bgp_neighbors:
        out += [f"set protocols bgp group EXT neighbor {ip} description \"{desc}\"",
                f"set protocols bgp group EXT neighbor {ip} peer-as {asn}"]
    out.append("set protocols bgp group EXT authentication-key "
               f"\"{s.get('bgp_key', 'junos9')}\"")
    for iface in m.interfaces:
        if iface.address:
            out.append(f"set protocols ospf area 0.0.0.0 interface {iface.name}.0")
    out.append("set protocols ospf area 0.0.0.0 interface lo0.0 passive")
    out.append("set protocols lldp interface all")
    out += _junos_filters(m)
    out += [f"set vlans v{vid} description {name}\nset vlans v{vid} vlan-id {vid}"
            for vid, name in sorted(m.vlans.items())]
    return "\n".join(out).split("\n")


def _junos_filters(m: DeviceModel) -> list[str]:
    out: list[str] = []
    for name, entries in m.acls.items():
        for n, e in enumerate(entries):
            term = f"set firewall family inet filter {name} term t{(n + 1) * 10}"
            out += [f"{term} from source-address {e.src}",
                    f"{term} from destination-address {e.dst}",
                    f"{term} from protocol {e.proto if e.proto != 'ip' else 'tcp'}"]
            if e.port:
                out.append(f"{term} from destination-port {e.port}")
            out.append(f"{term} then {'accept' if e.action == 'permit' else 'discard'}")
    return out


def _vrp_like(m: DeviceModel, s: SecretBox, vendor: str) -> list[str]:
    out = ["#", f" sysname {m.hostname}", "#"]
    for vid, name in sorted(m.vlans.items()):
        out += [f"vlan {vid}", f" description {name}", "#"]
    for ip in m.tacacs_servers:
        out.append(f"hwtacacs scheme TACACS\n primary authentication {ip} 49" if vendor == "vrp"
                   else f"hwtacacs scheme TACACS\n primary authentication {ip}")
    out += [f" key authentication cipher {s.get('tacacs_key', 'cipher')}", "#"]
    for name, entries in m.acls.items():
        out.append(f"acl name {name} advance" if vendor == "vrp"
                   else f"acl advanced name {name}")
        for n, e in enumerate(entries):
            port = f" destination-port eq {e.port}" if e.proto != "ip" and e.port else ""
            out.append(f" rule {(n + 1) * 5} {e.action} {e.proto} source {e.src.network_address}"
                       f" {e.src.hostmask} destination {e.dst.network_address} "
                       f"{e.dst.hostmask}{port}")
        out.append("#")
    out += ["aaa"]
    for user in m.users:
        if vendor == "vrp":
            out += [f" local-user {user} password irreversible-cipher "
                    f"{s.get(f'user_{user}', 'cipher')}",
                    f" local-user {user} privilege level 15",
                    f" local-user {user} service-type ssh"]
        else:
            out += ["#", f"local-user {user} class manage",
                    f" password hash {s.get(f'user_{user}', 'sha512')}",
                    " service-type ssh", " authorization-attribute user-role network-admin"]
    out.append("#")
    for iface in m.interfaces:
        out += [f"interface {iface.name}", f" description {iface.description}"]
        if iface.address:
            out += [" undo portswitch" if vendor == "vrp" else " port link-mode route",
                    f" ip address {iface.address.ip} {iface.address.netmask}",
                    f" ospf authentication-mode md5 1 cipher {s.get('ospf_key', 'cipher')}"]
        else:
            out += [" port link-type access", f" port default vlan {iface.access_vlan}"
                    if vendor == "vrp" else f" port access vlan {iface.access_vlan}"]
        if iface.mtu != 1500:
            out.append(f" jumboframe enable {iface.mtu}")
        if iface.shutdown:
            out.append(" shutdown")
        out.append("#")
    out += [f"ospf 1 router-id {m.router_id}", " area 0.0.0.0"]
    out += [f"  network {net.network_address} {net.hostmask}" for net, _ in m.ospf_networks]
    out += ["#", f"bgp {m.asn}", f" router-id {m.router_id}"]
    for ip, asn, desc in m.bgp_neighbors:
        out += [f" peer {ip} as-number {asn}", f" peer {ip} description {desc}"]
    out.append("#")
    out += [f"ip route-static {net.network_address} {net.prefixlen} {gw}"
            for net, gw in m.static_routes]
    out += ["#", f"snmp-agent community read cipher {s.get('snmp_ro', 'cipher')}",
            f"snmp-agent sys-info location {m.site}", "snmp-agent sys-info version v2c v3", "#"]
    out += [f"ntp-service unicast-server {ip}" if vendor == "vrp" else f"ntp-service unicast-server"
            f" {ip} authentication-keyid 1" for ip in m.ntp_servers]
    out += [f"info-center loghost {ip}" for ip in m.log_hosts]
    out += ["#", "user-interface vty 0 4" if vendor == "vrp" else "line vty 0 63",
            " authentication-mode aaa", " protocol inbound ssh", "#", "return"]
    return "\n".join(out).split("\n")


def render_vrp(m: DeviceModel, s: SecretBox, v: Volatile) -> list[str]:
    """``display current-configuration`` of a Huawei VRP switch."""
    ts = v.ts("%Y-%m-%d %H:%M:%S+00:00")
    return ["!Software Version V800R021C00SPC100",
            f"!Last configuration was updated at {ts}", *_vrp_like(m, s, "vrp")]


def render_comware(m: DeviceModel, s: SecretBox, v: Volatile) -> list[str]:
    """``display current-configuration`` of an H3C/HP Comware switch."""
    ts = v.ts("%Y/%m/%d %H:%M:%S")
    return ["#", " version 7.1.070, Release 6728P22", f"# Last saved at {ts}",
            *_vrp_like(m, s, "comware")]


def render_linux(
    m: DeviceModel, s: SecretBox, v: Volatile, path: str
) -> list[str]:
    """One file of a Linux host (``/etc/hostname``, ``/etc/hosts``, ``/etc/ssh/sshd_config``)."""
    if path == "/etc/hostname":
        return [m.hostname]
    if path == "/etc/hosts":
        out = [f"# Last modified: {v.ts('%Y-%m-%d %H:%M:%S')}",
               "127.0.0.1\tlocalhost",
               f"127.0.1.1\t{m.hostname}.{m.site}.example.net\t{m.hostname}",
               "", "# The following lines are desirable for IPv6 capable hosts",
               "::1     localhost ip6-localhost ip6-loopback", "ff02::1 ip6-allnodes",
               "ff02::2 ip6-allrouters", ""]
        return out + [f"{ip}\t{name}" for ip, name in m.hosts_entries]
    return [
        "# This is the sshd server system-wide configuration file.  See",
        "# sshd_config(5) for more information.", "", "Include /etc/ssh/sshd_config.d/*.conf", "",
        "Port 22", "AddressFamily inet", "ListenAddress 0.0.0.0", "",
        "HostKey /etc/ssh/ssh_host_ed25519_key", "HostKey /etc/ssh/ssh_host_rsa_key", "",
        "SyslogFacility AUTH", "LogLevel INFO", "", "LoginGraceTime 30", "MaxAuthTries 3",
        "MaxSessions 10", "", "PubkeyAuthentication yes",
        "AuthorizedKeysFile .ssh/authorized_keys", "", "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no", "UsePAM yes", "", "X11Forwarding no",
        "PrintMotd no", "ClientAliveInterval 300", "ClientAliveCountMax 2",
        f"AllowGroups {' '.join(m.users)}", "", "AcceptEnv LANG LC_*",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
    ]
