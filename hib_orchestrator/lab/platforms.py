"""What each emulated platform looks like on the CLI: prompts, modes, commands, error text.

Data only. The emulator (:mod:`hib_orchestrator.lab.emulator`) reads these records; the
command strings are the ones netmiko's own drivers send during ``session_preparation``
(``terminal width 511``, ``terminal length 0``, ``set cli screen-length 0``,
``screen-length 0 temporary``, ``screen-length disable``, ...), so netmiko works unchanged.

Prompt templates use ``{host}``. A mode is ``user`` (no enable yet), ``enable`` or ``config``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CISCO_REJECT = "% Invalid input detected at '^' marker."
VRP_REJECT = "Error: Unrecognized command found at '^' position."


@dataclass(frozen=True, slots=True)
class Platform:
    """One emulated vendor CLI.

    Attributes:
        name: netmiko ``device_type``.
        short: host-name prefix in the inventory (``ios-001``).
        user_prompt: prompt before ``enable`` (or the only prompt when ``enable_command`` is None).
        enable_prompt: prompt in privileged mode; None when the platform has no such mode.
        config_prompt: prompt in configuration mode.
        starts_enabled: the login lands in privileged mode (no ``enable`` needed).
        enable_command: command that asks for the enable secret; None when there is none.
        config_enter: commands that enter configuration mode.
        config_leave: commands that leave configuration mode back to the exec prompt.
        exit_commands: commands that end the session (outside configuration mode).
        quiet_commands: session commands (paging, width) and the line they print ("" = nothing).
        config_commands: command -> which document it prints (``running`` or a linux file path).
        needs_enable: config commands refused until ``enable`` was given.
        reject: error lines for an unknown command; ``{cmd}`` / ``{caret}`` are filled in.
        abbreviations: words may be shortened (``sh run``), as on network OSes.
        pager: the "more" prompt shown every page of a long output until paging is off.
        pager_off: commands that turn paging off for the session.
        config_context: lines printed before the prompt in configuration mode (Junos ``[edit]``).
        show_commands: other read-only commands and their (``{host}``-templated) output, e.g.
            ``show version`` as netmiko's SSHDetect expects it.
        banner: text printed before the first prompt (``{host}``/``{now}`` filled in).
    """

    name: str
    short: str
    user_prompt: str
    enable_prompt: str | None
    config_prompt: str
    starts_enabled: bool
    enable_command: str | None
    config_enter: tuple[str, ...]
    config_leave: tuple[str, ...]
    exit_commands: tuple[str, ...]
    quiet_commands: dict[str, str]
    config_commands: dict[str, str]
    reject: tuple[str, ...]
    needs_enable: bool = False
    abbreviations: bool = True
    pager: str | None = None
    pager_off: tuple[str, ...] = ()
    show_commands: dict[str, str] = field(default_factory=dict)
    config_context: tuple[str, ...] = ()
    banner: str = ""
    trailer: tuple[str, ...] = field(default_factory=tuple)


_CISCO_SESSION = {"terminal length 0": "", "terminal width 511": "", "terminal width 132": "",
                  "terminal no monitor": "", "terminal pager 0": ""}

PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            name="cisco_ios",
            short="ios",
            user_prompt="{host}>",
            enable_prompt="{host}#",
            config_prompt="{host}(config)#",
            starts_enabled=False,
            enable_command="enable",
            config_enter=("configure terminal",),
            config_leave=("end", "exit"),
            exit_commands=("exit", "logout", "quit"),
            quiet_commands=dict(_CISCO_SESSION),
            config_commands={"show running-config": "running"},
            needs_enable=True,
            reject=("{caret}", CISCO_REJECT),
            pager=" --More-- ",
            pager_off=("terminal length 0",),
            banner="\r\nUser Access Verification\r\n\r\n",
            show_commands={
                "show version": "Cisco IOS Software, C3750E Software (C3750E-UNIVERSALK9-M), "
                "Version 15.2(4)E10, RELEASE SOFTWARE (fc2)\nTechnical Support: "
                "http://www.cisco.com/techsupport"
                "\nROM: Bootstrap program is C3750E boot loader\n{host} uptime is 42 weeks, 3 days"
                "\nSystem image file is \"flash:c3750e-universalk9-mz.152-4.E10.bin\"",
            },
        ),
        Platform(
            name="cisco_nxos",
            short="nxos",
            user_prompt="{host}#",
            enable_prompt=None,
            config_prompt="{host}(config)#",
            starts_enabled=True,
            enable_command=None,
            config_enter=("configure terminal",),
            config_leave=("end", "exit"),
            exit_commands=("exit", "logout", "quit"),
            quiet_commands=dict(_CISCO_SESSION),
            config_commands={"show running-config": "running"},
            reject=("{caret}", CISCO_REJECT),
            pager=" --More-- ",
            pager_off=("terminal length 0",),
            banner="Cisco Nexus Operating System (NX-OS) Software\r\n"
            "TAC support: http://www.cisco.com/tac\r\n",
            show_commands={
                "show version": "Cisco Nexus Operating System (NX-OS) Software\nTAC support: "
                "http://www.cisco.com/tac\nSoftware\n  NXOS: version 9.3(8)\nHardware\n  cisco "
                "Nexus9000 C93180YC-EX chassis\n  Device name: {host}",
            },
        ),
        Platform(
            name="cisco_xr",
            short="xr",
            user_prompt="RP/0/RP0/CPU0:{host}#",
            enable_prompt=None,
            config_prompt="RP/0/RP0/CPU0:{host}(config)#",
            starts_enabled=True,
            enable_command=None,
            config_enter=("configure terminal", "configure"),
            config_leave=("end", "exit"),
            exit_commands=("exit", "logout", "quit"),
            quiet_commands=dict(_CISCO_SESSION),
            config_commands={"show running-config": "running"},
            reject=("{caret}", CISCO_REJECT),
            pager=" --More-- ",
            pager_off=("terminal length 0",),
            show_commands={
                "show version": "Cisco IOS XR Software, Version 7.5.2\nCopyright (c) 2013-2022 by "
                "Cisco Systems, Inc.\n\nBuild Information:\n Built By     : ingunawa\n\ncisco "
                "ASR9K () processor\nSystem uptime is 12 weeks 2 days\n{host}",
            },
        ),
        Platform(
            name="arista_eos",
            short="eos",
            user_prompt="{host}>",
            enable_prompt="{host}#",
            config_prompt="{host}(config)#",
            starts_enabled=False,
            enable_command="enable",
            config_enter=("configure terminal", "configure"),
            config_leave=("end", "exit"),
            exit_commands=("exit", "logout", "quit"),
            quiet_commands={
                "terminal width 511": "Width set to 511 columns.",
                "terminal length 0": "Pagination disabled.",
                "terminal no monitor": "",
            },
            config_commands={"show running-config": "running"},
            needs_enable=True,
            reject=("{caret}", CISCO_REJECT),
            pager=" --More-- ",
            pager_off=("terminal length 0",),
            show_commands={
                "show version": "Arista vEOS-lab\nHardware version:\nSerial number: "
                "SN-{host}\nSystem MAC address:  5254.0012.3456\n\nSoftware image version: "
                "4.30.1F\nArchitecture: x86_64",
            },
        ),
        Platform(
            name="juniper_junos",
            short="junos",
            user_prompt="{user}@{host}> ",
            enable_prompt=None,
            config_prompt="{user}@{host}# ",
            starts_enabled=True,
            enable_command=None,
            config_enter=("configure", "edit"),
            config_leave=("exit configuration-mode", "exit", "quit"),
            exit_commands=("exit", "quit", "logout"),
            quiet_commands={
                "set cli screen-width 511": "Screen width set to 511",
                "set cli complete-on-space off": "Disabling complete-on-space",
                "set cli screen-length 0": "Screen length set to 0",
                "set cli terminal-type vt100": "",
            },
            config_commands={
                "show configuration | display set": "running",
                "show configuration": "running",
            },
            reject=("{caret}", "syntax error, expecting <command>."),
            pager="---(more)---",
            pager_off=("set cli screen-length 0",),
            config_context=("", "[edit]"),
            banner="--- JUNOS 21.4R3.15 Kernel 64-bit  JNPR-12.1-20220902.5cbbd8a_buil\r\n",
            trailer=("",),
            show_commands={
                "show version": "Hostname: {host}\nModel: mx204\nJunos: 21.4R3.15\nJUNOS OS "
                "Kernel 64-bit  [20220902.5cbbd8a_builder_stable_12]\nJUNOS OS runtime [20220902]",
            },
        ),
        Platform(
            name="huawei",
            short="vrp",
            user_prompt="<{host}>",
            enable_prompt=None,
            config_prompt="[{host}]",
            starts_enabled=True,
            enable_command=None,
            config_enter=("system-view",),
            config_leave=("return", "quit"),
            exit_commands=("quit", "exit", "logout"),
            quiet_commands={
                "screen-length 0 temporary": "Info: The configuration takes effect on the "
                "current user terminal interface only.",
                "screen-width 511": "",
            },
            config_commands={"display current-configuration": "running"},
            reject=("{caret}", VRP_REJECT),
            pager="  ---- More ----",
            pager_off=("screen-length 0 temporary",),
            banner="\r\nInfo: The max number of VTY users is 10, the number of current VTY users "
            "online is 1.\r\n      The current login time is {now}.\r\n",
            show_commands={
                "display version": "Huawei Versatile Routing Platform Software\nVRP (R) software, "
                "Version 8.210 (CE6881 V800R021C00SPC100)\nCopyright (C) 2012-2022 Huawei "
                "Technologies Co., Ltd.\nHUAWEI CE6881-48S6CQ uptime is 120 days, 3 hours",
            },
        ),
        Platform(
            name="hp_comware",
            short="comware",
            user_prompt="<{host}>",
            enable_prompt=None,
            config_prompt="[{host}]",
            starts_enabled=True,
            enable_command=None,
            config_enter=("system-view",),
            config_leave=("return", "quit"),
            exit_commands=("quit", "exit", "logout"),
            quiet_commands={"screen-length disable": ""},
            config_commands={"display current-configuration": "running"},
            reject=("{caret}", VRP_REJECT),
            pager="---- More ----",
            pager_off=("screen-length disable",),
            banner="\r\n*****************************************************************\r\n"
            "* Copyright (c) 2004-2026 New H3C Technologies Co., Ltd.        *\r\n"
            "*****************************************************************\r\n\r\n",
            show_commands={
                "display version": "HPE Comware Software, Version 7.1.070, Release 6728P22\n"
                "Copyright (c) 2010-2026 Hewlett Packard Enterprise Development LP\nHPE FF 5940 "
                "uptime is 0 weeks, 6 days, 2 hours, 11 minutes",
            },
        ),
        Platform(
            name="linux",
            short="linux",
            user_prompt="{user}@{host}:~$ ",
            enable_prompt=None,
            config_prompt="{user}@{host}:~$ ",
            starts_enabled=True,
            enable_command=None,
            config_enter=(),
            config_leave=(),
            exit_commands=("exit", "logout"),
            quiet_commands={"": ""},
            config_commands={
                "cat /etc/hostname": "/etc/hostname",
                "cat /etc/hosts": "/etc/hosts",
                "cat /etc/ssh/sshd_config": "/etc/ssh/sshd_config",
            },
            reject=("-bash: {cmd}: command not found",),
            abbreviations=False,
            banner="Linux {host} 6.1.0-28-amd64 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 x86_64\r\n",
            show_commands={
                "uname -a": "Linux {host} 6.1.0-28-amd64 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 "
                "(2024-11-22) x86_64 GNU/Linux",
            },
        ),
    )
}

PLATFORM_NAMES: tuple[str, ...] = tuple(PLATFORMS)
SHORT_NAMES: dict[str, str] = {p.short: p.name for p in PLATFORMS.values()}


def platform(name: str) -> Platform:
    """The platform record for a netmiko device type.

    Raises:
        KeyError: not an emulated platform.
    """
    return PLATFORMS[name]
