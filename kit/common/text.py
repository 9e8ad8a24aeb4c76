"""Text for one line of a terminal or a table cell."""

from __future__ import annotations

import re
import sys

__all__ = ["one_line", "short_type", "hide_local_paths"]


def one_line(text: str | None, width: int = 160) -> str:
    """``text`` folded onto one line and cut at ``width`` characters: for progress lines, summaries and table
    cells. Local installation paths are shortened first (:func:`hide_local_paths`): a cut that fell inside one
    (``.../.venv/lib/pyth``) would leave a fragment that no later scrub of the whole report recognises."""
    flat = " ".join(hide_local_paths(text or "").split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut) + "…"  # at a word boundary unless a word is huge



def short_type(error_type: str | None) -> str:
    """``sqlalchemy.exc.InterfaceError`` -> ``InterfaceError`` (and None -> "")."""
    return (error_type or "").rsplit(".", 1)[-1]


_PACKAGES = re.compile(r"/(?:site|dist)-packages/")
_BOUNDARY = set(" \t\n\r\"'<>=(),;`")


def hide_local_paths(text: str) -> str:
    """``text`` with this machine's installation paths shortened: ``[packages]/pytest_asyncio/plugin.py``,
    ``[python]/asyncio/base_events.py``. A shared report should say which file, not where a colleague's
    virtualenv lives. Linear in the text (reports carry long base64 images): each match is found from its
    literal and walked back to the start of its path, never searched for from every position."""
    pieces, last = [], 0
    for match in _PACKAGES.finditer(text):
        start = match.start()
        while start > last and text[start - 1] not in _BOUNDARY:
            start -= 1
        pieces += [text[last:start], "[packages]/"]
        last = match.end()
    text = "".join(pieces) + text[last:]
    stdlib = f"{sys.base_prefix}/lib/python{sys.version_info[0]}.{sys.version_info[1]}"
    for prefix, name in ((stdlib, "[python]"), (sys.prefix, "[venv]"), (sys.base_prefix, "[python]")):
        if len(prefix) > 1:
            text = text.replace(prefix + "/", name + "/")
    return text
