"""bench/fleet.py's scale curve as a PNG: wall and controller CPU per device against fleet size.

One line per measured path and virtualenv, from :class:`Series` (points are
``(devices, wall_s, cpu_ms_per_device)``)::

    plot_scale([Series("a netmiko floor", "a", 0, [(100, 1.7, 10.9), (1000, 12.0, 10.8)])],
               Path("out.png"), title="fleet: 2 cores")

A path keeps its colour across virtualenvs and each virtualenv has its line style, so both
ansible-core versions of one path sit side by side. matplotlib is imported here only (the
``bench`` extra), with the Agg backend: no display needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

Point = tuple[int, float, float]
# Colour per path letter (matplotlib's tab10); the floor in black: it is the reference.
COLOURS = {"a": "black", "b": "tab:blue", "c": "tab:green", "d": "tab:red", "e": "tab:purple",
           "f": "tab:brown", "g": "tab:pink"}
VENV_STYLES = ("-", ":", "-.", (0, (5, 1)))


@dataclass
class Series:
    """One line: a path (``key`` a..g) on one virtualenv (``venv``: its index, 0 for peers)."""

    name: str
    key: str
    venv: int
    points: list[Point]


def plot_scale(series: list[Series], path: Path, title: str) -> str | None:
    """Write the plot to ``path``; returns why it was not written (``None`` when it was)."""
    try:
        import matplotlib
    except ImportError:
        return "matplotlib not installed (pip install -e '.[bench]')"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (wall_ax, cpu_ax) = plt.subplots(1, 2, figsize=(12, 6.5))
    for s in series:
        pts = sorted(s.points)
        sizes = [p[0] for p in pts]
        style = {"color": COLOURS.get(s.key, "grey"), "marker": "o", "label": s.name,
                 "linestyle": VENV_STYLES[s.venv % len(VENV_STYLES)],
                 "linewidth": 2.5 if s.key == "a" else 1.5}
        wall_ax.plot(sizes, [p[1] for p in pts], **style)
        cpu_ax.plot(sizes, [p[2] for p in pts], **style)
    wall_ax.set(xlabel="devices", ylabel="wall (s, median)", title="wall time")
    cpu_ax.set(xlabel="devices", ylabel="controller CPU per device (ms, whole process tree)",
               title="controller CPU per device")
    for ax in (wall_ax, cpu_ax):
        ax.grid(True, alpha=0.3)
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    handles, labels = wall_ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize="small", frameon=False)
    fig.suptitle(title)
    # Room under the axes for the legend: one row per two lines.
    fig.tight_layout(rect=(0, 0.04 + 0.035 * ((len(series) + 1) // 2), 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
