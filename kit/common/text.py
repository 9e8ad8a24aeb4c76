"""Text for one line of a terminal or a table cell."""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(text: str | None, width: int = 160) -> str:
    """``text`` folded onto one line and cut at ``width`` characters: for progress lines and summaries."""
    flat = " ".join((text or "").split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut) + "…"  # at a word boundary unless a word is huge
