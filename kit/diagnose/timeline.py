"""The loop timeline: the picture of a run that shows which event loop every test and fixture ran on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kit.run.streams import lane

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from kit.diagnose.model import Diagnosis

__all__ = ["loop_timeline_figure", "timeline"]


def _lane_order(label: str) -> tuple[str, int]:
    number = label.rsplit(":", 1)[-1][1:]
    return lane(label), int(number) if number.isdigit() else 0


def timeline(diagnosis: Diagnosis) -> Figure:
    """The loop timeline figure of a diagnosis (tests against the loops they ran on)."""
    run = diagnosis.run
    return loop_timeline_figure(run.cases if run else [], diagnosis.findings, run.events if run else None)


def loop_timeline_figure(cases: Sequence[Any], findings: Sequence[Any] | None = None,
                         events: Sequence[dict] | None = None, max_tests: int = 60) -> Figure:
    """Tests (in run order) against the event loops they ran on: one marker per phase, failures in red.

    Fixtures that ran on another loop than their test are drawn as hollow diamonds labelled with the
    fixture's name: "engine on L1 while the test ran on L3" is the picture of most loop conflicts. With the
    run's ``events``, a dashed arrow goes from where a pooled connection was opened to where another loop
    checked it out.
    """
    import matplotlib.pyplot as plt

    cases = [c for c in cases if c.loops or c.fixture_loops or c.outcome != "passed"][:max_tests]
    bad = {f.nodeid: f for f in (findings or [])}
    labels = sorted({loop for c in cases for loops in c.loops.values() for loop in loops}
                    | {loop for c in cases for loop in c.fixture_loops.values()}, key=_lane_order)
    row = {label: i for i, label in enumerate(labels)}
    fig, ax = plt.subplots(figsize=(max(7.5, 0.55 * len(cases) + 2.5), max(2.4, 0.45 * len(labels) + 1.6)))
    markers = {"setup": ("s", -0.18), "call": ("o", 0.0), "teardown": ("v", 0.18)}
    for x, case in enumerate(cases):
        for phase, (marker, dx) in markers.items():
            for loop in case.loops.get(phase, []):
                failed = case.outcome != "passed" and case.phase == phase
                ax.scatter(x + dx, row[loop], marker=marker, s=70 if failed else 40, zorder=3,
                           color="#cf222e" if failed else "#2da44e" if case.outcome == "passed" else "#9a6700")
        test_loops = set(case.loops.get("call", []) or case.loops.get("setup", []))
        for name, loop in case.fixture_loops.items():
            if test_loops and loop not in test_loops:
                ax.scatter(x, row[loop], marker="D", s=60, facecolors="none", edgecolors="#0969da", zorder=2)
                ax.annotate(name, (x, row[loop]), xytext=(4, 5), textcoords="offset points", fontsize=7,
                            color="#0969da")
        if case.nodeid in bad and not case.loops:
            ax.scatter(x, -0.6, marker="x", color="#cf222e", s=50)
    index = {c.nodeid: x for x, c in enumerate(cases)}
    opened = {str(e.get("conn")): e for e in (events or []) if e.get("action") == "connect"}
    for event in (events or []):
        start = opened.get(str(event.get("conn")))
        if event.get("action") != "cross-loop-checkout" or start is None:
            continue
        points = (index.get(start.get("nodeid")), row.get(event.get("created_on")), index.get(event.get("nodeid")),
                  row.get(event.get("loop")))
        if None not in points:
            ax.annotate("", xy=(points[2], points[3]), xytext=(points[0], points[1]), zorder=1,
                        arrowprops={"arrowstyle": "->", "linestyle": "--", "color": "#8250df", "alpha": 0.7})
    lanes = [lane(label) for label in labels]  # one band per xdist worker or CI shard (gw0:L1, shard-2.gw1:L3)
    for index, band in enumerate(dict.fromkeys(lanes)):
        rows = [i for i, name in enumerate(lanes) if name == band]
        if band and index % 2 == 0:
            ax.axhspan(min(rows) - 0.5, max(rows) + 0.5, color="#f6f8fa", zorder=0)
        if band:
            ax.annotate(band, (1.0, (min(rows) + max(rows)) / 2), xycoords=("axes fraction", "data"), xytext=(4, 0),
                        textcoords="offset points", fontsize=7, color="#57606a", va="center")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(-0.9, max(len(labels) - 0.4, 0.6))
    names = [c.nodeid.split("::")[-1] for c in cases]
    ax.set_xticks(range(len(cases)), [n if len(n) <= 28 else n[:27] + "…" for n in names], rotation=40,
                  ha="right", fontsize=8)
    ax.set_ylabel("event loop")
    ax.set_title("tests against the event loops they ran on\n■ setup  ● call  ▼ teardown  · red: failed  "
                 "· ◇ fixture on another loop  · dashed: pooled connection reused", fontsize=8)
    ax.grid(axis="y", color="#d0d7de", linewidth=0.6)
    fig.tight_layout()
    return fig
