"""Config generation and the CLI state machine, without SSH."""

from __future__ import annotations

from datetime import UTC, datetime

from hib_orchestrator.lab.emulator import CliSession, match_command
from hib_orchestrator.lab.platforms import PLATFORM_NAMES, PLATFORMS
from hib_orchestrator.lab.render import planted_secrets, render
from hib_orchestrator.lab.state import LabSpec, device, devices

NOW = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)
SPEC = LabSpec(16, PLATFORM_NAMES, "unit")


def test_same_inputs_same_config_and_seed_matters() -> None:
    dev = device(SPEC, 1)
    assert render(SPEC, dev, "running", 0, NOW, 1) == render(SPEC, dev, "running", 0, NOW, 1)
    other = LabSpec(16, PLATFORM_NAMES, "other")
    assert render(SPEC, dev, "running", 0, NOW, 1) != render(other, device(other, 1), "running",
                                                             0, NOW, 1)


def test_mutation_steps_change_the_config() -> None:
    for dev in devices(SPEC):
        doc = "/etc/hosts" if dev.platform == "linux" else "running"
        texts = {render(SPEC, dev, doc, m, NOW, 1) for m in range(4)}
        assert len(texts) == 4, dev.host


def test_planted_secrets_are_unique_and_long() -> None:
    seen: list[str] = []
    for dev in devices(SPEC):
        secrets = planted_secrets(SPEC, dev)
        if dev.platform != "linux":
            assert len(secrets) >= 5, dev.host
        seen += secrets + dev.credentials()
    assert len(seen) == len(set(seen))
    assert min(len(s) for s in seen) >= 10


def test_abbreviations_like_a_network_os() -> None:
    known = ("show running-config", "show version")
    assert match_command("sh run", known, True) == "show running-config"
    assert match_command("sh   running-config", known, True) == "show running-config"
    assert match_command("sh run", known, False) is None
    assert match_command("show frob", known, True) is None


def test_enable_with_wrong_then_right_secret() -> None:
    dev = device(SPEC, 1)
    cli = CliSession(PLATFORMS["cisco_ios"], dev, lambda doc: "hostname x\nend")
    assert cli.greeting().endswith("ios-001>")
    reply = cli.handle("enable")
    assert reply.prompt == "Password: " and not cli.echo
    assert "% Access denied" in cli.handle("wrong-secret").body
    assert cli.prompt() == "ios-001>"
    cli.handle("enable")
    cli.handle(str(dev.enable_secret))
    assert cli.prompt() == "ios-001#"
    reply = cli.handle("show running-config")
    assert reply.config and reply.body == "hostname x\r\nend\r\n"
    assert cli.handle("exit").close
