"""Rendering executed notebooks into self-contained HTML reports, and the index that links them.

Reports must open offline on someone else's machine: the template (``kit/templates/kit``) drops every
script the lab template would fetch, CSS is inlined by nbconvert, and plots are inline PNGs. Every text
kit writes is HTML-escaped, and the final files are scrubbed of any secret kit knows about.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kit.common.html import write_masked
from kit.run.kernel import import_nbformat

__all__ = ["NotebookResult", "render_notebook", "write_index"]

TEMPLATES = Path(__file__).parent / "templates"
_HEADING = re.compile(r'<h([12]) id="([^"]+)"[^>]*>(.*?)<a class="anchor-link"', re.S)


@dataclass
class NotebookResult:
    name: str
    ok: bool
    seconds: float
    failed_cell: int | None = None
    error: str | None = None
    html_path: str | None = None
    notebook_path: str | None = None


def _header(title: str, result: NotebookResult, context: dict) -> str:
    status = "passed" if result.ok else "failed"
    # Versions on one line: a column of a dozen rows pushes the notebook itself below the first screen.
    versions = " · ".join(f"{name} {version}" for name, version in context.get("versions", {}).items() if version)
    rows = [("ran", context.get("started", "")), ("target", f"the {context.get('target_kind', '')} database"),
            ("notebook", f"{result.name}.ipynb, {result.seconds:.1f} s"), ("versions", versions)]
    cells = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows)
    failure = ""
    if not result.ok:
        failure = (f"<p class='kit-status-failed'>Cell {result.failed_cell} failed: "
                   f"{html.escape(result.error or '')}</p>")
    return (f"<header class='kit-header'><h1>{html.escape(title)}</h1>"
            f"<span class='kit-status-{status}'>{status}</span> · <a href='index.html'>all reports</a>"
            f"<dl>{cells}</dl>{failure}<nav class='kit-toc'>@@TOC@@</nav></header>")


def _toc(body: str, title: str = "") -> str:
    items = [(int(level), anchor, re.sub(r"<[^>]+>", "", text).strip())
             for level, anchor, text in _HEADING.findall(body)]
    if items and items[0][0] == 1 and html.unescape(items[0][2]) == title:
        items = items[1:]  # the notebook's title is already the header's
    if not items:
        return ""
    top = min(level for level, _, _ in items)
    entries = "".join(f"<li style='margin-left:{(level - top) * 1.2}em'><a href='#{anchor}'>{text}</a></li>"
                      for level, anchor, text in items)
    return f"<strong>Contents</strong><ol>{entries}</ol>"


def render_notebook(notebook, result: NotebookResult, context: dict, destination: Path) -> Path:
    """Write ``notebook`` (executed) as a self-contained HTML report at ``destination``."""
    import_nbformat()
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="kit", extra_template_basedirs=[str(TEMPLATES)])
    title = next((line.lstrip("# ").strip() for cell in notebook.cells if cell.cell_type == "markdown"
                  for line in cell.source.splitlines() if line.startswith("# ")), result.name)
    body, _ = exporter.from_notebook_node(notebook, resources={"kit_header": _header(title, result, context)})
    body = body.replace("@@TOC@@", _toc(body, title), 1)
    return write_masked(destination, body)


def write_index(results: list[NotebookResult], context: dict, destination: Path) -> Path:
    """``index.html``: every notebook with pass/fail, time and a link to its report."""
    rows = []
    for r in results:
        status = "passed" if r.ok else f"failed (cell {r.failed_cell})"
        name = html.escape(r.name)
        link = f"<a href='{html.escape(Path(r.html_path).name)}'>{name}</a>" if r.html_path else name
        rows.append(f"<tr class='{'ok' if r.ok else 'bad'}'><td>{link}</td><td>{html.escape(status)}</td>"
                    f"<td>{r.seconds:.1f} s</td><td>{html.escape(r.error or '')}</td></tr>")
    versions = ", ".join(f"{html.escape(k)} {html.escape(str(v))}" for k, v in context.get("versions", {}).items() if v)
    total = sum(r.seconds for r in results)
    wall = context.get("wall_s")
    # Notebooks run side by side: the sum of their times is not how long the run took.
    took = (f"{wall:.1f} s wall time ({total:.1f} s of notebook time, side by side)" if wall is not None
            else f"{total:.1f} s of notebook time")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kit investigation report</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #1f2328; }}
 table {{ border-collapse: collapse; width: 100%; }}
 td, th {{ border-bottom: 1px solid #d0d7de; padding: .4em .6em; text-align: left; }}
 tr.ok td:nth-child(2) {{ color: #1a7f37; }} tr.bad td:nth-child(2) {{ color: #cf222e; font-weight: bold; }}
 .meta {{ color: #57606a; font-size: .9em; }}
</style></head><body>
<h1>kit investigation report</h1>
<p class="meta">Ran {html.escape(context.get("started", ""))} against the {html.escape(context.get("target_kind", ""))}
 database ({html.escape(context.get("target", ""))}); {len(results)} notebooks, {sum(r.ok for r in results)} passed,
 {took}.<br>{versions}</p>
<table><thead><tr><th>notebook</th><th>result</th><th>time</th><th>error</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<p class="meta">Generated by <code>kit investigate</code> at {datetime.now(UTC).isoformat(timespec="seconds")}.</p>
</body></html>
"""
    return write_masked(destination, page)
