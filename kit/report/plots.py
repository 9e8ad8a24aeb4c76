"""matplotlib figures for the notebooks and reports. Each returns the Figure it drew."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kit.common.text import short_type

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["probe_figure", "catalogue_heatmap", "durations_figure", "road_to_green"]


def probe_figure(result: Any, history: Any = None) -> Figure:
    """Left: time of each connectivity check. Right: query latency (p50/p95) of this and earlier probes."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.3]})
    names = [c.name for c in result.checks]
    millis = [c.seconds * 1000 for c in result.checks]
    left.barh(names, millis, color=["#2da44e" if c.ok else "#cf222e" for c in result.checks])
    left.invert_yaxis()
    left.set_xscale("log")
    left.set_xlabel("ms (log scale)")
    left.set_title("connectivity checks")
    for y, value in enumerate(millis):
        left.annotate(f"{value:.1f}", (value, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    if history is not None and len(history):
        p50 = history["details"].map(lambda d: d.get("p50"))
        p95 = history["details"].map(lambda d: d.get("p95"))
        runs = range(1, len(history) + 1)
        right.plot(runs, p50, "o-", label="p50")
        right.plot(runs, p95, "s--", label="p95")
        right.set_xlabel("probe run (oldest to newest)")
        right.legend()
    else:
        lat = result.latency_ms
        right.bar(["p50", "p95"], [lat["p50"], lat["p95"]], color="#0969da")
    right.set_ylabel("ms per query")
    right.set_title(f"latency of `select 1` ({result.latency_ms['n']} queries this run)")
    fig.tight_layout()
    return fig


OUTCOME_COLOURS = {"passed": "#2da44e", "failed": "#cf222e", "error": "#bc4c00", "timeout": "#8250df"}


def _column(result: Any) -> str:
    """A result's column: its variant, and its driver when that is not asyncpg (``broken\npsycopg``)."""
    driver = getattr(result, "driver", "asyncpg")
    return result.variant if driver == "asyncpg" else f"{result.variant}\n{driver}"


def catalogue_heatmap(results: Sequence[Any]) -> Figure:
    """Entry x variant (and driver), coloured by outcome, marked ✓ where the variant behaved as the catalogue
    says: on psycopg that may be a broken variant that passes, as its entry declares."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    entries = list(dict.fromkeys(r.scenario for r in results))
    variants = sorted(dict.fromkeys(_column(r) for r in results), key=lambda c: ("\n" in c, c))
    by_key = {(r.scenario, _column(r)): r for r in results}
    fig, ax = plt.subplots(figsize=(3.5 + 1.5 * len(variants), 0.32 * len(entries) + 1.4))
    for y, entry in enumerate(entries):
        for x, variant in enumerate(variants):
            r = by_key.get((entry, variant))
            if r is None:
                continue
            ax.add_patch(plt.Rectangle((x, y), 0.96, 0.92, color=OUTCOME_COLOURS.get(r.outcome, "#6e7781")))
            label = ("✓ " if r.reproduced else "✗ ") + (short_type(r.first_error_type) or r.outcome)
            ax.text(x + 0.48, y + 0.46, label, ha="center", va="center", color="white", fontsize=8)
    ax.set_xlim(0, len(variants))
    ax.set_ylim(len(entries), 0)
    ax.set_xticks([i + 0.48 for i in range(len(variants))], variants)
    ax.set_yticks([i + 0.46 for i in range(len(entries))], entries, fontsize=8)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.legend(handles=[Patch(color=c, label=o) for o, c in OUTCOME_COLOURS.items()], ncol=4, fontsize=8,
              loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def durations_figure(results: Sequence[Any]) -> Figure:
    """Wall time of each variant's pytest run (broken and fixed side by side)."""
    import matplotlib.pyplot as plt

    entries = list(dict.fromkeys(r.scenario for r in results))
    variants = sorted(dict.fromkeys(_column(r) for r in results), key=lambda c: ("\n" in c, c))
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(entries) * max(1, len(variants) / 2) + 1.2))
    height = 0.8 / max(1, len(variants))
    colours = {"broken": "#cf222e", "fixed": "#2da44e", "broken\npsycopg": "#ff8182", "fixed\npsycopg": "#6fdd8b"}
    for offset, variant in enumerate(variants):
        times = [next((r.duration_s for r in results if r.scenario == e and _column(r) == variant), 0)
                 for e in entries]
        ax.barh([i + offset * height for i in range(len(entries))], times, height=height,
                label=variant.replace("\n", " on "), color=colours.get(variant, "#6e7781"))
    ax.set_yticks([i + height / 2 for i in range(len(entries))], entries, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds per pytest run (including interpreter start and a fresh database)")
    ax.legend()
    fig.tight_layout()
    return fig


SUITE_COLOURS = {"auth": "#0969da", "business": "#bf8700", "coaching": "#8250df"}


def road_to_green(results: Sequence[Any]) -> Figure:
    """Left: passing tests per stage, stacked by suite, over the tests that ran. Right: time per stage."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
    labels = [f"{r.step}\n{r.stage}" for r in results]
    bottoms = [0] * len(results)
    for suite, colour in SUITE_COLOURS.items():
        counts = [sum(t.outcome == "passed" and t.suite == suite for t in r.tests) for r in results]
        left.bar(labels, counts, bottom=bottoms, color=colour, label=suite)
        bottoms = [b + c for b, c in zip(bottoms, counts)]
    totals = [len(r.tests) for r in results]
    left.plot(labels, totals, "k_", markersize=28, mew=2, label="tests run")
    for x, (passed, total) in enumerate(zip(bottoms, totals)):
        left.annotate(f"{passed}/{total}", (x, max(passed, total)), xytext=(0, 4), textcoords="offset points",
                      ha="center", fontsize=8)
    left.set_ylabel("passing tests")
    left.set_title("the road to green")
    left.set_ylim(0, max(totals + [1]) * 1.15)  # room for the n/total labels
    left.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4, frameon=False)
    right.barh(labels, [r.duration_s for r in results], color="#6e7781")
    right.invert_yaxis()
    right.set_xlabel("seconds (pytest subprocess, fresh database)")
    right.set_title("time per stage")
    fig.tight_layout()
    return fig


def matrix_heatmap(cells: Sequence[Any], title: str | None = None) -> Figure:
    """Entry x version pair, one panel per variant, coloured by outcome; ✓ where the cell behaved as its entry
    declares for those versions, ✗ where not. ``cells``: ``kit.catalogue.matrix`` cells or their JSON rows."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = [c if isinstance(c, dict) else c.as_dict() for c in cells]
    entries = list(dict.fromkeys(r["scenario"] for r in rows))
    pairs = list(dict.fromkeys((r["pytest_asyncio"], r["sqlalchemy"]) for r in rows))
    variants = [v for v in ("broken", "fixed") if any(r["variant"] == v for r in rows)]
    by_key = {(r["scenario"], r["variant"], r["pytest_asyncio"], r["sqlalchemy"]): r for r in rows}
    fig, axes = plt.subplots(1, len(variants), figsize=(1.15 * len(pairs) * len(variants) + 3.2,
                                                       0.42 * len(entries) + 1.9), squeeze=False)
    for panel, (ax, variant) in enumerate(zip(axes[0], variants)):
        for y, entry in enumerate(entries):
            for x, (pa, sa) in enumerate(pairs):
                r = by_key.get((entry, variant, pa, sa))
                if r is None:
                    continue
                ax.add_patch(plt.Rectangle((x, y), 0.96, 0.92, color=OUTCOME_COLOURS.get(r["outcome"], "#6e7781")))
                error = short_type(r.get("first_error_type"))
                label = "pass" if r["outcome"] == "passed" else (error or r["outcome"])[:14]
                mark = "✓" if r.get("as_declared") else "✗"
                ax.text(x + 0.48, y + 0.46, f"{mark} {label}", ha="center", va="center", color="white", fontsize=7)
        ax.set_xlim(0, len(pairs))
        ax.set_ylim(len(entries), 0)
        ax.set_xticks([i + 0.48 for i in range(len(pairs))], [f"pa {pa}\nsa {sa}" for pa, sa in pairs], fontsize=7)
        ax.set_yticks([i + 0.46 for i in range(len(entries))], entries if panel == 0 else [], fontsize=8)
        ax.tick_params(length=0)
        ax.set_title(variant, fontsize=10)
        for side in ax.spines.values():
            side.set_visible(False)
    fig.legend(handles=[Patch(color=c, label=o) for o, c in OUTCOME_COLOURS.items()], ncol=4, fontsize=8,
               loc="upper center", frameon=False)
    fig.suptitle(title or "✓ behaved as declared for these versions   ✗ did not", fontsize=8, y=0.93)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


__all__ += ["matrix_heatmap"]


FIX_COLOURS = {"passed": "#2da44e", "failed": "#cf222e", "errors": "#bc4c00"}


def _round_label(number: int, this: Any) -> str:
    kept, undone = len(this.edits), len(this.rolled_back)
    return f"round {number}\n{kept} edit{'s' * (kept != 1)} kept" + (f", {undone} rolled back" if undone else "")


def fix_rounds_figure(result: Any) -> Figure:
    """``kit fix`` round by round: passed, failed and errors before any edit and after each round, stacked, with
    passed/total above each bar; a round's label says how many edits it kept and how many repairs it rolled back.
    ``result``: a ``kit.diagnose.repair.fix.FixResult`` (``before``, ``rounds``, ``green``, ``findings_left``)."""
    import matplotlib.pyplot as plt

    counts = [(result.before.passed, result.before.failed, result.before.errors)]
    counts += [(r.passed, r.failed, r.errors) for r in result.rounds]
    labels = ["before"] + [_round_label(n, r) for n, r in enumerate(result.rounds, 1)]
    fig, ax = plt.subplots(figsize=(min(10, 3 + 1.7 * len(labels)), 3.4))
    bottoms = [0] * len(counts)
    for index, (outcome, colour) in enumerate(FIX_COLOURS.items()):
        values = [c[index] for c in counts]
        ax.bar(labels, values, bottom=bottoms, color=colour, label=outcome, width=0.55)
        bottoms = [b + v for b, v in zip(bottoms, values)]
    for x, (row, total) in enumerate(zip(counts, bottoms)):
        ax.annotate(f"{row[0]}/{total} passed", (x, total), xytext=(0, 4), textcoords="offset points", ha="center",
                    fontsize=8)
    left = getattr(result, "findings_left", 0)
    verdict = "green" if result.green else f"{left} finding{'s' * (left != 1)} left"
    ax.set_title(f"kit fix on {str(result.suite).rstrip('/').rpartition('/')[2]}, round by round: {verdict}")
    ax.set_ylabel("tests")
    ax.set_ylim(0, max(bottoms + [1]) * 1.2)  # room for the passed/total labels
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return fig


__all__ += ["fix_rounds_figure"]
