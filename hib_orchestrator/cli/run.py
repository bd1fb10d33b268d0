"""``hib run`` (drive a playbook with live progress) and ``hib render`` (policy -> playbook)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hib_orchestrator.errors import ConfigError
from hib_orchestrator.settings import Settings, load_settings

if TYPE_CHECKING:
    from rich.console import Console

    from hib_orchestrator.cli.live import LiveView
    from hib_orchestrator.orchestration.execute import RunResult
    from hib_orchestrator.orchestration.progress import RunProgress

# The run machinery (ansible-runner, SQLAlchemy, jinja2) is imported inside the commands: every
# other `hib` command, and `hib --help`, starts without it.


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _yaml_value(text: str) -> Any:
    import yaml  # on use: every `hib` command imports this module

    return yaml.safe_load(text)


def _extravars(values: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values or []:
        if item.startswith("{"):
            try:
                out.update(json.loads(item))
            except ValueError as err:
                raise ConfigError(f"-e {item!r}: not a JSON object") from err
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"-e {item!r}: expected key=value or a JSON object")
        out[key.strip()] = _yaml_value(value) if value else ""
    return out


def _inventory(given: list[str] | None, settings: Settings) -> list[str]:
    if given:
        return given
    lab = settings.lab_dir / "inventory.yml"
    if lab.is_file():
        return [str(lab)]
    raise ConfigError("no inventory: pass -i INVENTORY (or start the lab: hib lab up)")


def _policy_playbook(name: str, settings: Settings) -> tuple[Path, Any]:
    from hib_orchestrator.policies import load_policies, render_policy

    policies = load_policies(settings.policy_file)
    policy = policies.get(name)
    out_dir = settings.home / "policies"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.yml"
    path.write_text(render_policy(policy, policies.path, out_name=str(path)), encoding="utf-8")
    return path, policy


STRATEGIES = {"fleet": "hib.orchestrator.fleet", "linear": "ansible.builtin.linear"}


def run(
    playbook: Path | None = typer.Argument(None, help="Playbook (default: the backup one)."),
    inventory: list[str] | None = typer.Option(None, "-i", "--inventory", help="Inventory source."),
    limit: str | None = typer.Option(None, "--limit", "-l", help="Ansible host pattern."),
    platform: list[str] | None = typer.Option(None, "--platform", help="Only these platforms."),
    group: list[str] | None = typer.Option(None, "--group", help="Only hosts in these groups."),
    forks: int | None = typer.Option(None, "--forks", min=1, help="Concurrency cap."),
    strategy: str = typer.Option(
        "linear", "--strategy",
        help="Ansible strategy: linear (Ansible's own; the backup playbook runs a play batch's "
             "devices in one task), fleet (hib.orchestrator.fleet, opt-in), or any strategy name.",
    ),
    timeout: int | None = typer.Option(None, "--timeout", min=1, help="Seconds per device."),
    retries: int | None = typer.Option(None, "--retries", min=0, help="Retries per device."),
    extra_vars: list[str] | None = typer.Option(None, "-e", "--extra-vars", help="key=value"),
    check: bool = typer.Option(False, "--check", help="Fetch and diff, store nothing."),
    idempotency_key: str | None = typer.Option(None, "--idempotency-key",
                                               help="Same key, same run: no second backup."),
    junit: Path | None = typer.Option(None, "--junit", help="Write JUnit XML here."),
    as_json: bool = typer.Option(False, "--json", help="Print the run document as JSON."),
    policy: str | None = typer.Option(None, "--policy", help="Render and run a hib.yml policy."),
) -> int:
    """Run a backup playbook with live progress.

    Exit 0 every host ok, 1 a host failed, 2 bad input, 3 canceled or interrupted.
    """
    from rich.console import Console

    from hib_orchestrator.cli.live import LiveView
    from hib_orchestrator.orchestration.execute import Hooks, RunOptions, execute
    from hib_orchestrator.orchestration.layout import current_layout
    from hib_orchestrator.orchestration.runner import check_strategy
    from hib_orchestrator.recording import open_engine

    settings = load_settings()
    label = None
    if policy:
        if playbook is not None:
            raise ConfigError("give either a PLAYBOOK or --policy, not both")
        playbook, pol = _policy_playbook(policy, settings)
        forks = forks or pol.forks
        label = f"policy:{policy}"
    elif playbook is None:
        playbook = current_layout().default_playbook()
    strategy = STRATEGIES.get(strategy, strategy)
    check_strategy(strategy)
    opts = RunOptions(
        playbook=playbook, inventory=_inventory(inventory, settings), limit=limit,
        platforms=_split(platform), groups=_split(group), forks=forks, timeout=timeout,
        retries=retries, extravars=_extravars(extra_vars), check=check,
        strategy=strategy,
        idempotency_key=idempotency_key, label=label or str(playbook),
    )
    console = Console(stderr=as_json, highlight=False)
    view: dict[str, LiveView] = {}

    def started(run_id: int, progress: RunProgress) -> None:
        view["v"] = LiveView(console, progress, run_id, f"{opts.playbook} ({progress.total} hosts)",
                             engine=open_engine(settings, reap=False))
        view["v"].__enter__()

    def finished() -> None:
        if "v" in view:
            view["v"].__exit__(None, None, None)

    hooks = Hooks(
        started=started,
        host_changed=lambda hp: view["v"].host_changed(hp),
        note=lambda msg: view["v"].note(msg) if "v" in view else None,
        finished=finished,
    )
    try:
        result = execute(opts, settings, hooks)
    finally:
        finished_view = view.pop("v", None)
        if finished_view is not None and finished_view._live is not None:
            finished_view.__exit__(None, None, None)
    _report(result, console, as_json, junit)
    return result.exit_code


def _report(result: RunResult, console: Console, as_json: bool, junit: Path | None) -> None:
    from hib_orchestrator.cli.live import summary_table
    from hib_orchestrator.orchestration.junit import write_junit

    doc = result.document
    if junit is not None:
        write_junit(doc, junit)
    if result.reused:
        print(f"hib: idempotency key already used by run {doc['id']} ({doc['status']}); "
              "not running again", file=sys.stderr)
    if result.empty_selection:
        print(f"hib: warning: no host matches the selection; recorded run {doc['id']} "
              "with zero hosts", file=sys.stderr)
    if doc.get("status") == "push_pending":
        print(f"hib: warning: run {doc['id']}: the config commit is kept locally, not pushed to "
              "HIB_CONFIG_REMOTE yet (push_pending); the next run pushes it", file=sys.stderr)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    hosts = doc.get("hosts", [])
    counts = {s: sum(1 for h in hosts if h.get("status") == s)
              for s in ("ok", "changed", "failed", "unreachable", "skipped")}
    if any(h.get("status") in ("failed", "unreachable", "skipped") for h in hosts):
        console.print(summary_table(doc))
    console.print(
        f"run {doc['id']} {doc['status']}: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f"  (hib runs show {doc['id']})",
        highlight=False,
    )


def render(
    policy: str = typer.Argument(..., help="Policy name in hib.yml."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the playbook here."),
) -> None:
    """Render a policy from hib.yml into a standalone playbook."""
    from hib_orchestrator.policies import load_policies, render_policy

    settings = load_settings()
    policies = load_policies(settings.policy_file)
    text = render_policy(policies.get(policy), policies.path,
                         out_name=str(out) if out else f"{policy}.yml")
    if out is None:
        sys.stdout.write(text)
        return
    with tempfile.NamedTemporaryFile("w", dir=out.parent or Path("."), delete=False,
                                     suffix=".tmp", encoding="utf-8") as fh:
        fh.write(text)
    Path(fh.name).replace(out)
    print(f"wrote {out}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("render")(render)
