"""How a run in flight looks: a rich live view on a terminal, plain lines elsewhere."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from hib_orchestrator.orchestration.progress import HostProgress, RunProgress
from hib_orchestrator.orchestration.transfers import Transfer, running_transfers

STYLE = {
    "ok": "green", "changed": "yellow", "failed": "bold red", "unreachable": "bold magenta",
    "skipped": "cyan", "running": "blue", "pending": "dim",
}
RECENT = 12
PLAIN_PROGRESS_EVERY_S = 10.0


def _transfer_line(t: Transfer) -> str:
    return f"{t.objects_done:,}/{t.objects_total:,} objects, {t.bytes_done / 1e6:,.1f} MB"


def _objects(hp: HostProgress) -> str:
    o = hp.objects or {}
    if not o:
        return ""
    return (f"{o.get('new', 0)} new, {o.get('changed', 0)} changed, "
            f"{o.get('unchanged', 0)} unchanged, {o.get('bytes', 0):,} B")


class LiveView:
    """Renders :class:`RunProgress` as results arrive.

    On a terminal: a progress bar, counts, the hosts most recently finished or in flight, and
    image-host object counts. Elsewhere (CI logs, pipes): one plain line per finished host.
    """

    def __init__(self, console: Console, progress: RunProgress, run_id: int, title: str,
                 engine: Engine | None = None) -> None:
        self.console = console
        self.engine = engine
        self._stop = threading.Event()
        self.state = progress
        self.run_id = run_id
        self.title = title
        self.interactive = console.is_terminal
        self._recent: list[str] = []
        self._printed: dict[str, str] = {}
        self._bar = Progress(
            TextColumn("[bold]hosts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console,
        )
        self._task = self._bar.add_task("hosts", total=max(progress.total, 1))
        self._live: Live | None = None
        self._last_refresh = 0.0

    def __enter__(self) -> LiveView:
        if self.interactive:
            # Live re-renders `self` (see __rich__) on its own clock, so transfer progress
            # moves even while no Ansible event arrives.
            self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        else:
            self.console.print(f"hib run {self.run_id}: {self.title}", highlight=False)
            threading.Thread(target=self._plain_transfers, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.refresh()
            self._live.__exit__(*exc)
            self._live = None

    def __rich__(self) -> Group:
        return self._render()

    def _plain_transfers(self) -> None:
        while not self._stop.wait(PLAIN_PROGRESS_EVERY_S):
            for t in self._transfers():
                self.console.print(f"{'progress':<11} {t.provider}  {_transfer_line(t)}",
                                   highlight=False, markup=False)

    def _transfers(self) -> list[Transfer]:
        return running_transfers(self.engine, self.run_id) if self.engine is not None else []

    def host_changed(self, hp: HostProgress) -> None:
        """Called after each event that touched a host."""
        if hp.host in self._recent:
            self._recent.remove(hp.host)
        self._recent.append(hp.host)
        del self._recent[:-RECENT]
        final = hp.status not in ("pending", "running")
        if not self.interactive and final and self._printed.get(hp.host) != hp.status:
            self._printed[hp.host] = hp.status
            line = f"{hp.status:<11} {hp.host}"
            if hp.error_code or hp.message:
                line += f"  {hp.error_code or ''}: {hp.message or ''}"
            if hp.objects:
                line += f"  ({_objects(hp)})"
            self.console.print(line, highlight=False, markup=False)
        self.refresh()

    def note(self, message: str) -> None:
        """A one-off message (cancel requested, ...)."""
        if self._live is not None:
            self._live.console.print(message, highlight=False)
        else:
            self.console.print(message, highlight=False, markup=False)

    def refresh(self, force: bool = False) -> None:
        if self._live is None:
            return
        now = time.monotonic()
        if force or now - self._last_refresh > 0.1:
            self._last_refresh = now
            self._live.refresh()

    def _render(self) -> Group:
        s = self.state
        self._bar.update(self._task, total=max(s.total, 1), completed=s.done)
        counts = Text.assemble(
            (f"run {self.run_id}  ", "bold"),
            *[(f"{k} {s.count(k)}  ", STYLE[k]) for k in ("ok", "changed", "failed",
                                                          "unreachable", "skipped")],
            (f"task: {s.current_task or '-'}", "dim"),
        )
        table = Table(box=None, show_header=True, header_style="bold", expand=False)
        for col in ("host", "status", "detail"):
            table.add_column(col)
        for name in reversed(self._recent):
            hp = s.hosts[name]
            detail = " ".join(x for x in (hp.error_code, hp.message, _objects(hp)) if x)
            table.add_row(name, Text(hp.status, STYLE.get(hp.status, "")), detail[:100])
        transfers = Table(box=None, show_header=False)
        for t in self._transfers():
            transfers.add_row(Text(t.provider, "bold"), _transfer_line(t))
        return Group(counts, self._bar, table, transfers)


def summary_table(run: dict[str, Any]) -> Table:
    """Final table: every host that did not end ok/changed, with its error code."""
    table = Table(title=f"run {run['id']}: {run['status']}", show_lines=False)
    for col in ("host", "kind", "status", "error_code", "error_message"):
        table.add_column(col)
    for h in run.get("hosts", []):
        if h.get("status") in ("failed", "unreachable", "skipped"):
            table.add_row(
                h["host"], h.get("kind") or "", Text(h["status"], STYLE.get(h["status"], "")),
                h.get("error_code") or "", (h.get("error_message") or "")[:120],
            )
    return table
