from __future__ import annotations

import re
from pathlib import Path

import pytest

from hib_orchestrator.devices.filters import (
    MASK,
    check_rejected,
    comparable_text,
    mask_secrets,
    normalise_output,
    remove_lines,
    significant_lines,
    stored_text,
)
from hib_orchestrator.devices.profiles import registry
from hib_orchestrator.errors import CommandRejected, ErrorCode

# (platform, config line, the secret in it). Generic vendor syntax, not lab output.
SECRET_LINES = [
    ("cisco_ios", "enable secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM",
     "$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM"),
    ("cisco_ios", "enable password 7 0822455D0A16544541", "0822455D0A16544541"),
    ("cisco_ios", "username ops privilege 15 secret 9 $9$abcdefghijKLMN", "$9$abcdefghijKLMN"),
    ("cisco_ios", "snmp-server community Publ1cR34d RO MGMT-IN", "Publ1cR34d"),
    ("cisco_ios", "snmp-server host 10.0.0.9 version 2c TrapC0mmun1ty", "TrapC0mmun1ty"),
    ("cisco_ios", " server-private 10.1.1.1 key 7 045802150C2E1D1C5A", "045802150C2E1D1C5A"),
    ("cisco_ios", "tacacs-server key 7 \"15060E1F10392F\"", "\"15060E1F10392F\""),
    ("cisco_ios", " key 7 110A1016141D5A5E57", "110A1016141D5A5E57"),
    ("cisco_ios", "crypto isakmp key Pr3Shar3dK3y address 192.0.2.1", "Pr3Shar3dK3y"),
    ("cisco_ios", "  key-string Ospf5ecretKey", "Ospf5ecretKey"),
    ("cisco_ios", "ntp authentication-key 1 md5 0822455D0A165445 7", "0822455D0A165445"),
    ("cisco_ios", " ip ospf authentication-key 7 070C285F4D06", "070C285F4D06"),
    ("cisco_ios", " neighbor 192.0.2.2 password 7 02050D480809", "02050D480809"),
    ("cisco_ios", " password 7 13061E010803", "13061E010803"),
    ("cisco_nxos", "username admin password 5 $5$KHFBLD$mOmAPSmbM8  role network-admin",
     "$5$KHFBLD$mOmAPSmbM8"),
    ("cisco_nxos", "snmp-server user admin network-admin auth md5 0x1a2b3c4d5e6f priv "
     "0x9f8e7d6c5b4a localizedkey", "0x9f8e7d6c5b4a"),
    ("cisco_nxos", "snmp-server user admin network-admin auth md5 0x1a2b3c4d5e6f priv "
     "0x9f8e7d6c5b4a localizedkey", "0x1a2b3c4d5e6f"),
    ("cisco_nxos", "  authentication-key 3 OspfAuthK3y", "OspfAuthK3y"),
    ("cisco_xr", "username admin\n secret 10 $6$xrsalt$hashedvalue000", "$6$xrsalt$hashedvalue000"),
    ("cisco_xr", " authentication-key 1 md5 encrypted 0822455D0A16", "0822455D0A16"),
    ("cisco_xr", "  message-digest-key 1 md5 encrypted 05080F1C2243", "05080F1C2243"),
    ("arista_eos", "username admin privilege 15 role network-admin secret sha512 $6$eossalt$h4sh",
     "$6$eossalt$h4sh"),
    ("arista_eos", "enable password sha512 $6$enablesalt$h4sh", "$6$enablesalt$h4sh"),
    ("arista_eos", "tacacs-server host 10.0.0.5 key 7 0207165218120E", "0207165218120E"),
    ("juniper_junos", 'set system root-authentication encrypted-password "$6$jsalt$rootHash"',
     "$6$jsalt$rootHash"),
    ("juniper_junos", 'set system tacplus-server 10.0.0.1 secret "$9$dk.fz69pBIc"',
     "$9$dk.fz69pBIc"),
    ("juniper_junos", 'set system ntp authentication-key 1 type md5 value "$9$abcdefgXYZ"',
     "$9$abcdefgXYZ"),
    ("juniper_junos", "set snmp community S3cr3tJunos authorization read-only", "S3cr3tJunos"),
    ("juniper_junos", 'set protocols bgp group EXT authentication-key "$9$bgpKEYvalue"',
     "$9$bgpKEYvalue"),
    ("juniper_junos", '    encrypted-password "$6$hier$archical"; ## SECRET-DATA',
     "$6$hier$archical"),
    ("huawei", " local-user admin password irreversible-cipher $1c$Q4bL<@Wv!$", "$1c$Q4bL<@Wv!$"),
    ("huawei", "snmp-agent community read cipher %^%#Gm9u~5Td%^%#", "%^%#Gm9u~5Td%^%#"),
    ("huawei", " key authentication cipher H@ck3rS4fe", "H@ck3rS4fe"),
    ("hp_comware", " password hash $h$6$Comw4reHash==", "$h$6$Comw4reHash=="),
    ("hp_comware", " ospf authentication-mode md5 1 cipher $c$3$OspfC1pher==", "$c$3$OspfC1pher=="),
    ("hp_comware", "snmp-agent community read simple PlainC0mm", "PlainC0mm"),
]

HARMLESS_LINES = {
    "cisco_ios": ["service password-encryption", "key chain OSPF-KEYS", " key 1",
                  "ntp trusted-key 1", "ntp server 10.0.0.1 key 1",
                  "security passwords min-length 8",
                  "aaa authentication login default group tacacs+ local", "hostname core-1"],
    "juniper_junos": ["set system authentication-order password", "set system ntp trusted-key 1",
                      "set system ntp server 10.0.0.1 key 1"],
    "huawei": [" ntp-service unicast-server 10.0.0.1 authentication-keyid 1", " sysname r1"],
}


@pytest.mark.parametrize(("platform", "line", "secret"), SECRET_LINES)
def test_generic_vendor_rules_mask_the_secret(platform: str, line: str, secret: str) -> None:
    masked = mask_secrets(line, registry().get(platform).mask_secrets)
    assert secret.strip('"') not in masked
    assert MASK in masked


@pytest.mark.parametrize(("platform", "line"),
                         [(p, line) for p, lines in HARMLESS_LINES.items() for line in lines])
def test_lines_without_secrets_stay_byte_for_byte(platform: str, line: str) -> None:
    assert mask_secrets(line, registry().get(platform).mask_secrets) == line


def test_masking_is_idempotent() -> None:
    rules = registry().get("cisco_ios").mask_secrets
    once = mask_secrets("enable secret 9 $9$abcdefghij\nsnmp-server community abcdefghij RO", rules)
    assert mask_secrets(once, rules) == once


def test_normalise_strips_echo_prompt_crlf_and_terminal_codes() -> None:
    ios = registry().get("cisco_ios")
    raw = ("show running-config\r\nBuilding configuration...\r\n\r\nhostname r1\x1b[K\r\n"
           "interface Gi1\r\n no shutdown   \r\nend\r\n\r\nr1#")
    out = normalise_output(ios, "show running-config", raw)
    assert out == "Building configuration...\n\nhostname r1\ninterface Gi1\n no shutdown\nend"


def test_junos_and_vrp_prompts_are_removed() -> None:
    junos = registry().get("juniper_junos")
    cmd = "show configuration | display set"
    raw = f"{cmd}\nset system host-name j1\n\n{{master:0}}\nadmin@j1> "
    assert normalise_output(junos, cmd, raw) == "set system host-name j1\n\n{master:0}"
    vrp = registry().get("huawei")
    raw = "display current-configuration\n#\n sysname v1\nreturn\n<v1>"
    assert normalise_output(vrp, "display current-configuration", raw) == "#\n sysname v1\nreturn"


@pytest.mark.parametrize(
    ("platform", "answer"),
    [("cisco_ios", "                ^\n% Invalid input detected at '^' marker."),
     ("juniper_junos", "                       ^\nsyntax error, expecting <command>."),
     ("huawei", "              ^\nError: Unrecognized command found at '^' position."),
     ("linux", "bash: show: command not found"),
     ("linux", "cat: /etc/nope: No such file or directory")],
)
def test_device_error_answers_are_command_rejected(platform: str, answer: str) -> None:
    with pytest.raises(CommandRejected) as info:
        check_rejected(registry().get(platform), "show x", answer, host="h1")
    assert info.value.code == ErrorCode.COMMAND_REJECTED


def test_a_config_mentioning_error_words_deep_inside_is_not_rejected() -> None:
    text = "\n".join(["hostname r1"] * 5 + ["banner motd ^% Invalid input detected^"])
    check_rejected(registry().get("cisco_ios"), "show running-config", text)


def test_stored_text_deletes_noise_and_masks_and_compare_ignores_volatile_lines() -> None:
    ios = registry().get("cisco_ios")
    body = ("Building configuration...\n\nCurrent configuration : 1234 bytes\n"
            "! Last configuration change at 10:00:01 UTC Tue Nov 24 2026 by admin\n"
            "hostname r1\nenable secret 9 $9$abcdefghijkl\nntp clock-period 17179869\nend")
    text = stored_text(ios, [("show running-config", body)])
    assert "Building configuration" not in text and "Current configuration" not in text
    assert "ntp clock-period" not in text  # delete-before-storing
    assert "! Last configuration change" in text  # kept, but ignored when comparing
    assert "$9$abcdefghijkl" not in text and text.endswith("end\n")
    later = text.replace("10:00:01", "11:22:33")
    assert later != text
    assert comparable_text(ios, later) == comparable_text(ios, text)
    assert significant_lines(ios, text) == ["hostname r1", f"enable secret 9 {MASK}", "end"]


def test_mask_opt_out_keeps_secrets() -> None:
    ios = registry().get("cisco_ios")
    text = stored_text(ios, [("show running-config", "enable secret 9 $9$abc\nend")], mask=False)
    assert "$9$abc" in text


def test_several_commands_get_section_headers() -> None:
    linux = registry().get("linux")
    text = stored_text(linux, [("cat /etc/hostname", "l1"), ("cat /etc/hosts", "127.0.0.1 l1")])
    assert text == "##### cat /etc/hostname\nl1\n##### cat /etc/hosts\n127.0.0.1 l1\n"
    assert stored_text(linux, [("cat /etc/hostname", "l1")]) == "l1\n"


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms"


@pytest.mark.parametrize("platform", sorted(p.name for p in FIXTURES.iterdir()))
def test_joined_line_rules_drop_exactly_what_rules_one_by_one_drop(platform: str) -> None:
    profile = registry().get(platform)
    lines = (FIXTURES / platform / "lab.txt").read_text().splitlines()
    lines += ["! Last configuration change at 10:00:00 UTC Mon Nov 23 2026", "ntp clock-period 17",
              "Building configuration...", "## Last commit: 2026-11-24 by admin", "x" * 300]
    for rules in (profile.ignore_lines, (*profile.cleanup, *profile.delete_lines),
                  ("(?i)^BUILDING", r"^(\w)\1", "^end$")):
        one_by_one = [line for line in lines
                      if not any(re.search(rule, line) for rule in rules)]
        assert remove_lines("\n".join(lines), rules).split("\n") == one_by_one, rules


def _mask_every_rule(text: str, patterns: list[str]) -> str:
    """mask_secrets without any shortcut: every rule's regex over the whole text."""
    for pattern in patterns:
        regex = re.compile("(?m)" + pattern)
        groups = [n for n in regex.groupindex if n.startswith("secret")]

        def sub(m: re.Match[str], groups: list[str] = groups) -> str:
            spans = sorted(m.span(g) for g in groups if m.start(g) >= 0)
            out, pos = [], m.start()
            for start, end in spans:
                if start >= pos:
                    out += [m.string[pos:start], MASK]
                    pos = end
            return "".join([*out, m.string[pos:m.end()]])

        if groups:
            text = regex.sub(sub, text)
    return text


@pytest.mark.parametrize("platform", sorted(
    p.name for p in (Path(__file__).resolve().parents[2] / "fixtures" / "platforms").iterdir()))
def test_masking_shortcut_masks_exactly_what_every_rule_would(platform: str) -> None:
    text = (Path(__file__).resolve().parents[2] / "fixtures" / "platforms" / platform
            / "lab.txt").read_text()
    patterns = list(registry().get(platform).mask_secrets)
    assert mask_secrets(text, patterns) == _mask_every_rule(text, patterns)
    # a rule whose literal is absent is skipped, and still masks when the literal appears
    rule = r"\bkey-string(?: [0-7])? (?P<secret>\S+)"
    assert mask_secrets("no such line\n", [rule]) == "no such line\n"
    assert mask_secrets(" key-string 7 s3cr3t\n", [rule]) == f" key-string 7 {MASK}\n"
    assert mask_secrets("Password x\n", [r"(?i)\bpassword (?P<secret>\S+)"]) == f"Password {MASK}\n"
