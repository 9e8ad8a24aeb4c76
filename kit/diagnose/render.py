"""A diagnosis as text: the terminal report (:func:`render_text`) and a notebook table (:func:`findings_frame`).

The report leads with causes, not failures: each root with its error, the two evidence lines that decided it
and its fix, its fallout listed under it in one line each. Unknown roots of the same error type are folded
into one, so a suite with forty identical failures still reads in a screen.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from kit.common.text import one_line
from kit.diagnose.advisor import render_advice
from kit.diagnose.evidence import config_line, short
from kit.diagnose.model import UNKNOWN, Diagnosis, counts_line, root_groups

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["render_text", "findings_frame", "headline", "runners_line"]


def render_text(diagnosis: Diagnosis, width: int = 110) -> str:
    """The terminal report: counts, then each root with its evidence and fix, its fallout listed under it."""
    def wrap(text: str, first: str, rest: str, lines: int | None = None) -> list[str]:
        return textwrap.wrap(" ".join((text or "").split()), width, initial_indent=first, subsequent_indent=rest,
                             max_lines=lines, placeholder=" …") or [first.rstrip()]

    config = diagnosis.config
    out = [f"kit diagnose: {diagnosis.suite}",
           *wrap(f"{config_line(config)}; pytest {config.get('pytest') or '?'}, SQLAlchemy "
                 f"{config.get('sqlalchemy') or '?'}, asyncpg {config.get('asyncpg') or '?'}"
                 + (f", psycopg {config['psycopg']}" if config.get("psycopg") else ""), "  ", "    "),
           *([f"  tests run by: {runners_line(config)}"] if config.get("runners") else []),
           *([f"  database: {diagnosis.database}"] if diagnosis.database else []),
           f"  tests: {diagnosis.passed} passed, {diagnosis.failed} failed, {diagnosis.errors} errors; "
           f"{counts_line(diagnosis)}"]
    if not diagnosis.findings:
        out.append("\nNo findings: nothing in this run points at a loop, session or isolation problem.")
        return "\n".join(out + _note_lines(diagnosis, wrap) + _advice_lines(diagnosis))
    for root, same, children in root_groups(diagnosis):
        kind = "unknown cause (not in kit's catalogue)" if root.cause == UNKNOWN else root.cause
        out += ["", f"ROOT  {root.nodeid}  [{root.phase}]  {kind}"]
        out += [f"      + {other.nodeid} [{other.phase}]: the same {short(other.error_type)}" for other in same]
        if root.error_type or root.message:
            out += wrap(f"{short(root.error_type) or 'error'}: {headline(root.message)}", "      ", "        ", 2)
        for item in root.evidence[:3]:
            out += wrap(item, "      evidence: ", "                ", 4)
        out += wrap(root.why, "      confidence: ", "                  ")
        out += wrap(root.fix, "      fix: ", "           ")
        for child in children:
            head = f"      └ secondary: {child.nodeid} [{child.phase}] {short(child.error_type) or 'error'}: "
            out.append(head + one_line(child.message, max(30, width - len(head))))
            out.append("          " + one_line(child.evidence[-1] if child.evidence else "", width - 10))
    return "\n".join(out + _note_lines(diagnosis, wrap) + _advice_lines(diagnosis))


def _note_lines(diagnosis: Diagnosis, wrap) -> list[str]:
    """Latent problems: said once each, after the findings, and clearly not failures."""
    lines: list[str] = []
    for note in diagnosis.notes:
        lines += ["", f"NOTE  {note.kind} (not a failure)"]
        lines += wrap(note.message, "      ", "        ", 3)
        lines += wrap(f"seen in: {', '.join(note.where)}", "      ", "        ", 2)
        lines += wrap(note.fix, "      fix: ", "           ")
    return lines


def _advice_lines(diagnosis: Diagnosis) -> list[str]:
    return ["", render_advice(diagnosis.advice)] if diagnosis.advice else []


def runners_line(config: dict) -> str:
    """``anyio: 4 tests`` from the recorder's count of which plugin ran the collected tests."""
    names = {"pytest-asyncio": "pytest-asyncio", "anyio": "AnyIO's pytest plugin", "sync": "plain (sync) tests"}
    return ", ".join(f"{names.get(k, k)}: {v}" for k, v in sorted((config.get("runners") or {}).items()))


def headline(message: str | None) -> str:
    """The telling part of a long message: asyncio's different-loop error starts with the whole task repr."""
    text = message or ""
    at = text.find(" got Future ")
    return "Task <…>" + text[at:] if at > 0 and len(text) > 160 else text


def findings_frame(diagnosis: Diagnosis) -> pd.DataFrame:
    """The findings as a pandas DataFrame (one row each), for notebooks."""
    import pandas as pd

    rows = [{"test": f.nodeid, "phase": f.phase, "cause": f.cause, "secondary": f.secondary,
             "root": f.root or "", "error": f"{short(f.error_type)}: {one_line(f.message, 90)}" if f.error_type else "",
             "evidence": one_line(f.evidence[0] if f.evidence else "", 140), "confidence": f.why}
            for f in diagnosis.findings]
    return pd.DataFrame(rows, columns=["test", "phase", "cause", "secondary", "root", "error", "evidence",
                                       "confidence"])
