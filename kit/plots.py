"""matplotlib figures for the notebooks and reports. Each returns the Figure it drew."""

from __future__ import annotations

__all__ = ["probe_figure"]


def probe_figure(result, history=None):
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
