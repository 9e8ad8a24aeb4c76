"""Small HTML for notebook cells (a heading line and a table, escaped, wrapped, left-aligned), and the one
way kit writes a page it may be asked to share.

Results that a notebook cell shows (a stage run, a catalogue variant) render through ``_repr_html_`` with
these, so a cell reads like the reports and never shows a raw dataclass repr.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from kit.common.masking import mask_text
from kit.common.text import hide_local_paths

__all__ = ["escape", "table", "card", "write_masked"]

_STYLE = ("<style>.kit-card table{border-collapse:collapse;width:100%;font-size:.9em}"
          ".kit-card td,.kit-card th{text-align:left;vertical-align:top;border-bottom:1px solid #d0d7de;"
          "padding:.25em .5em;white-space:normal;overflow-wrap:anywhere}"
          ".kit-card .ok{color:#1a7f37;font-weight:bold}.kit-card .bad{color:#cf222e;font-weight:bold}</style>")


def escape(value: object) -> str:
    return html.escape("" if value is None else str(value))


def table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def card(title: str, ok: bool, verdict: str, body: str = "") -> str:
    """A titled result: ``title — verdict`` (green or red), then ``body`` (already HTML)."""
    css = "ok" if ok else "bad"
    return f"<div class='kit-card'>{_STYLE}<p><strong>{escape(title)}</strong> — <span class='{css}'>" \
           f"{escape(verdict)}</span></p>{body}</div>"


def write_masked(destination: Path, text: str) -> Path:
    """Write ``text`` scrubbed of secrets and of local installation paths, atomically: a reader never sees
    half a report."""
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    partial.write_text(hide_local_paths(mask_text(text) or ""), encoding="utf-8")
    os.replace(partial, destination)
    return destination
