"""Text for one line of a terminal or a table cell."""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(text: str | None, width: int = 160) -> str:
    """``text`` folded onto one line and cut at ``width`` characters: for progress lines and summaries."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
