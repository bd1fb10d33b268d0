"""``hib lab``: the simulated fleet (``up/inventory/status/down/mutate/fault/secrets``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from hib_orchestrator.lab.platforms import PLATFORM_NAMES
from hib_orchestrator.lab.state import DEFAULT_DEVICES, DEFAULT_SEED, FAULT_KINDS, LabSpec
from hib_orchestrator.settings import load_settings


def _manager() -> Any:
    # Imported on use: the manager loads yaml, the inventory writer and the stand-ins, which
    # every other `hib` command would pay for at start-up.
    from hib_orchestrator.lab import manager

    return manager


def _platforms(value: str | None) -> tuple[str, ...]:
    if not value:
        return PLATFORM_NAMES
    return tuple(p.strip() for p in value.split(",") if p.strip())


lab = typer.Typer(help="A simulated fleet of SSH network devices on loopback.",
                  no_args_is_help=True)


@lab.command("up")
def lab_up(
    devices: int = typer.Option(DEFAULT_DEVICES, "--devices", "-n", help="Number of devices."),
    platforms: str = typer.Option(
        "", "--platforms", help=f"Comma-separated subset of {','.join(PLATFORM_NAMES)}."
    ),
    seed: str = typer.Option(DEFAULT_SEED, "--seed", help="Seed of the generated configs."),
    providers: bool = typer.Option(False, "--providers", help="Also start image-host "
                                   "stand-ins."),
) -> None:
    """Start the lab in the background (idempotent); the last line is the inventory path."""
    spec = LabSpec(devices, _platforms(platforms), seed)
    settings = load_settings()
    result = _manager().up(settings, spec, providers=providers)
    word = "started" if result.started else "already running"
    typer.echo(f"lab {word}: {spec.devices} devices on port {result.port} (pid {result.pid})")
    for row in _manager().status(settings)["providers"]:
        typer.echo(f"  image host {row['host']} ({row['provider']}): {row['endpoint']}")
    typer.echo(str(result.inventory))

@lab.command("inventory")
def lab_inventory() -> None:
    """Print the path of the running lab's inventory."""
    typer.echo(str(_manager().inventory_path(load_settings())))

@lab.command("status")
def lab_status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show whether the lab runs, its devices and their faults."""
    info = _manager().status(load_settings())
    if as_json:
        typer.echo(json.dumps(info, indent=1))
        return
    if not info["running"]:
        typer.echo("lab: not running")
        return
    typer.echo(f"lab: running (pid {info['pid']}, port {info['port']}), "
               f"{len(info['devices'])} devices, inventory {info['inventory']}")
    for dev in info["devices"]:
        if dev["fault"] != "none":
            typer.echo(f"  {dev['host']}  {dev['address']}  fault={dev['fault']}")

@lab.command("down")
def lab_down() -> None:
    """Stop every lab process (fine when nothing runs)."""
    stopped = _manager().down(load_settings())
    typer.echo("lab stopped" if stopped else "lab was not running")

@lab.command("mutate")
def lab_mutate(
    devices: int = typer.Option(1, "--devices", "-n", help="How many devices to change."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Change significant configuration lines of K devices and print their names."""
    hosts = _manager().mutate(load_settings(), devices)
    if as_json:
        typer.echo(json.dumps({"hosts": hosts}))
    else:
        for host in hosts:
            typer.echo(host)

@lab.command("fault")
def lab_fault(
    host: str = typer.Argument(..., help="Lab device name, e.g. ios-001."),
    kind: str = typer.Argument(..., help=f"One of {', '.join(FAULT_KINDS)}."),
) -> None:
    """Set a fault on one device (`none` clears it)."""
    _manager().set_fault(load_settings(), host, kind)
    typer.echo(f"{host}: fault {kind}")

@lab.command("cloginrc")
def lab_cloginrc(
    directory: Path | None = typer.Option(None, "--dir", help="Where to write (default: "
                                          "the lab directory's rancid/)."),
) -> None:
    """Write a RANCID .cloginrc (and ssh wrapper) for the lab; print its path."""
    typer.echo(str(_manager().cloginrc(load_settings(), directory)))


@lab.command("secrets")
def lab_secrets() -> None:
    """Print every secret planted in the lab, one per line."""
    out = sys.stdout
    for value in _manager().secrets(load_settings()):
        out.write(value + "\n")


def register(app: typer.Typer) -> None:
    """Add the ``lab`` command group to ``app``."""
    app.add_typer(lab, name="lab")
