"""The ``kit diagnose --html`` report: one self-contained page (inline CSS, inline PNG, no scripts).

It must open offline on whoever receives it, so nothing is fetched; every text that came from the user's
suite (test ids, error messages, evidence) is HTML-escaped, and the page is scrubbed of known secrets.
"""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime
from pathlib import Path

from kit.common.html import escape as _e
from kit.common.html import write_masked
from kit.common.text import one_line
from kit.diagnose.evidence import short
from kit.diagnose.model import UNKNOWN, Diagnosis, Finding, counts_line, root_groups
from kit.diagnose.render import headline
from kit.diagnose.timeline import loop_timeline_figure
from kit.run.progress import in_notebook

__all__ = ["render_fragment", "render_html", "write_html", "timeline_png"]

_STYLE = """
 .kit-diagnosis { font-family: system-ui, sans-serif; color: #1f2328; max-width: 100%; }
 .kit-diagnosis table { border-collapse: collapse; width: 100%; font-size: .92em; table-layout: fixed; }
 .kit-diagnosis td, .kit-diagnosis th { border-bottom: 1px solid #d0d7de; padding: .35em .5em; text-align: left;
   vertical-align: top; overflow-wrap: anywhere; white-space: normal; }
 .kit-diagnosis .meta { color: #57606a; font-size: .9em; }
 .kit-diagnosis .finding { border: 1px solid #d0d7de; border-left: 5px solid #cf222e; border-radius: 4px;
   padding: .6em 1em; margin: 1em 0; overflow-x: auto; }
 .kit-diagnosis .finding.unknown { border-left-color: #9a6700; }
 .kit-diagnosis .finding h3 { margin: .1em 0 .4em; font-size: 1.05em; overflow-wrap: anywhere; }
 .kit-diagnosis .cause { font-family: ui-monospace, monospace; background: #f6f8fa; padding: 0 .3em; }
 .kit-diagnosis pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; padding: .5em;
   font-size: .85em; }
 .kit-diagnosis code { background: #f6f8fa; padding: 0 .25em; border-radius: 3px; font-size: .9em; }
 .kit-diagnosis .ok { color: #1a7f37; font-weight: bold; } .kit-diagnosis .bad { color: #cf222e; font-weight: bold; }
 .kit-diagnosis img { max-width: 100%; }
"""
_PAGE_STYLE = " body { margin: 2em auto; max-width: 70em; padding: 0 1em; }"
_CODE = re.compile(r"`([^`]+)`")


def _prose(text: str | None) -> str:
    """Escaped text whose `backticked` parts render as code (the fixes are written that way)."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", _e(text))


def timeline_png(diagnosis: Diagnosis) -> bytes | None:
    """The loop timeline as PNG bytes (None when the run recorded no tests)."""
    if diagnosis.run is None or not diagnosis.run.cases:
        return None
    import matplotlib

    if not in_notebook():  # a kernel keeps its inline backend, or its later figures would not show
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = loop_timeline_figure(diagnosis.run.cases, diagnosis.findings, diagnosis.run.events)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def _finding_block(root: Finding, same: list[Finding], children: list[Finding]) -> str:
    css = "finding unknown" if root.cause == UNKNOWN else "finding"
    evidence = "".join(f"<li>{_prose(item)}</li>" for item in root.evidence)
    also = ("<p class='meta'>The same error in: " + ", ".join(f"{_e(o.nodeid)} [{_e(o.phase)}]" for o in same)
            + "</p>") if same else ""
    fallout = ""
    if children:
        rows = "".join(f"<tr><td>{_e(c.nodeid)}</td><td>{_e(c.phase)}</td><td>{_e(short(c.error_type))}</td>"
                       f"<td>{_e(one_line(c.message, 300))}</td><td>{_prose(c.evidence[-1] if c.evidence else '')}"
                       "</td></tr>" for c in children)
        fallout = ("<p><strong>Secondary (fallout of this root):</strong></p><table><colgroup><col style='width:24%'>"
                   "<col style='width:8%'><col style='width:14%'><col style='width:27%'><col style='width:27%'>"
                   "</colgroup><thead><tr><th>test</th><th>phase</th><th>error</th><th>message</th><th>why</th>"
                   f"</tr></thead><tbody>{rows}</tbody></table>")
    kind = "unknown cause (not in kit's catalogue)" if root.cause == UNKNOWN else root.cause
    return (f"<section class='{css}'><h3>{_e(root.nodeid)} <span class='meta'>[{_e(root.phase)}]</span> — "
            f"<span class='cause'>{_e(kind)}</span></h3>{also}"
            f"<pre>{_e(short(root.error_type))}: {_e(headline(root.message))}</pre>"
            f"<p><strong>Evidence</strong></p><ul>{evidence}</ul>"
            f"<p class='meta'>confidence {_e(root.why)}</p>"
            f"<p><strong>Fix</strong>: {_prose(root.fix)}</p>{fallout}</section>")


def _notes_block(diagnosis: Diagnosis) -> str:
    items = "".join(f"<li><strong>{_e(n.kind)}</strong> (not a failure): {_e(n.message)}<br><span class='meta'>"
                    f"seen in: {_e(', '.join(n.where))}</span><br>fix: {_prose(n.fix)}</li>" for n in diagnosis.notes)
    return f"<h3>Notes</h3><ul>{items}</ul>" if items else ""


def _advice_block(diagnosis: Diagnosis) -> str:
    if not diagnosis.advice:
        return ""
    items = "".join(
        f"<li><strong>[{_e(a.severity)}] {_e(a.rule)}</strong>: {_prose(a.message)}"
        f"<br><span class='meta'>where: {_e(a.place)} · breaks on: "
        f"{_prose(a.breaks_on)}</span><br>fix: {_prose(a.fix)}"
        + "".join(f"<br><span class='meta'>measured: {_e(cite)}</span>" for cite in a.evidence) + "</li>"
        for a in diagnosis.advice)
    return f"<h3>Upgrade advisor</h3><ul>{items}</ul>"


def render_fragment(diagnosis: Diagnosis, *, timeline: bool = True) -> str:
    """The diagnosis as an HTML fragment (styles included): a notebook cell's output, and the page's body."""
    blocks = "".join(_finding_block(root, same, children) for root, same, children in root_groups(diagnosis))
    verdict = (f"<span class='bad'>{counts_line(diagnosis)}</span>" if diagnosis.findings
               else "<span class='ok'>no findings</span>")
    plot = ""
    png = timeline_png(diagnosis) if timeline else None
    if png:
        plot = ("<h3>Loop timeline</h3><img alt='tests against the event loops they ran on' "
                f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    gone = f"<p class='bad'>{_e(diagnosis.database_gone)}</p>" if diagnosis.database_gone else ""
    if diagnosis.database:
        gone = f"<p>{_e(diagnosis.database)}</p>{gone}"
    return (f"<div class='kit-diagnosis'><style>{_STYLE}</style>"
            f"<p><strong>{_e(Path(diagnosis.suite).name)}</strong>: {diagnosis.passed} passed, {diagnosis.failed} "
            f"failed, {diagnosis.errors} errors — {verdict}</p>{gone}"
            f"{blocks or '<p>Nothing in this run points at a loop, session or isolation problem.</p>'}"
            f"{_notes_block(diagnosis)}{plot}{_advice_block(diagnosis)}</div>")


def render_html(diagnosis: Diagnosis) -> str:
    """The report page as one string."""
    config = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v if v is not None else 'unset')}</td></tr>"
                     for k, v in diagnosis.config.items())
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    hang = ""
    if diagnosis.run is not None and diagnosis.run.hang_dump:
        hang = f"<h2>Where the run hung</h2><pre>{_e(diagnosis.run.hang_dump[:12000])}</pre>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kit diagnose: {_e(Path(diagnosis.suite).name)}</title>
<style>{_PAGE_STYLE}</style></head><body>
<h1>kit diagnose: {_e(diagnosis.suite)}</h1>
<h2>Findings</h2>
{render_fragment(diagnosis)}
<div class="kit-diagnosis">{hang}
<h2>Configuration seen by pytest</h2>
<table><tbody>{config}</tbody></table>
<p class="meta">Generated by <code>kit diagnose</code> at {_e(generated)}.</p></div>
</body></html>
"""


def write_html(diagnosis: Diagnosis, destination: Path) -> Path:
    """Write the report atomically, scrubbed of every secret kit knows about."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    return write_masked(destination, render_html(diagnosis))
