"""``%%kit``: an ipytest cell, recorded and explained under the cell (``%load_ext kit``; ``kit.notebook.setup()``
loads it).

``%%kit [pytest args]`` runs the cell's tests with ipytest's own cell magic (same configuration, ``run_in_thread``,
``# ipytest:`` comments, ``{MODULE}`` arguments, ``raise_on_error``), with kit's recorder added
(``-p kit.plugin --kit-record=<a temporary file>``). Then it reads the record, classifies it as ``kit diagnose``
does and shows the outcome and loops of each test, the loop timeline and the diagnosis of any failure. The result
is bound as ``_kit`` in the notebook's namespace and every test is appended to the records store (group
``notebook/%%kit``).
"""

from __future__ import annotations

import html
import os
import re
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kit.diagnose.model import Diagnosis
    from kit.run.runner import PytestRun

__all__ = ["KitCell", "GROUP", "load_ipython_extension", "kit_magic"]

GROUP = "notebook/%%kit"  # the records' group of every test a %%kit cell runs
SUITE = "notebook cell"   # what the diagnosis calls the cell
_IPYTEST_MODULE = re.compile(r"\bt_[0-9a-f]{32}\.py\b")


@dataclass
class KitCell:
    """What one ``%%kit`` cell ran (``_kit`` in the namespace): the recorded run, its diagnosis, pytest's exit
    code."""

    run: PytestRun
    diagnosis: Diagnosis
    exit_code: int | None

    @property
    def causes(self) -> list[str]:
        """The causes of the root findings (``module-engine-per-test-loop``...), in order."""
        return [f.cause for f in self.diagnosis.roots]

    def __repr__(self) -> str:
        counts = ", ".join(f"{self.run.count(o)} {o}" for o in ("passed", "failed", "error", "skipped")
                           if self.run.count(o))
        return f"<%%kit cell: {counts or 'no tests'}; exit code {self.exit_code}; causes {self.causes}>"

    def _repr_html_(self) -> str:
        from kit.diagnose.html import render_fragment

        return outcome_table(self.run) + render_fragment(self.diagnosis, timeline=True)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext kit``: register ``%%kit``. ipytest is configured as ``kit.notebook.setup()`` configures it
    unless the kernel configured it already (``ipytest.autoconfig`` or ``setup()``: their options are kept)."""
    from ipytest._config import current_config

    if not current_config.get("magics"):  # ipytest never configured in this kernel
        import ipytest

        from kit.notebook import IPYTEST_ADDOPTS

        ipytest.autoconfig(run_in_thread=True, addopts=IPYTEST_ADDOPTS)
    ipython.register_magic_function(kit_magic, "cell", "kit")


def kit_magic(line: str, cell: str) -> None:
    """The ``%%kit`` cell magic: ipytest's cell magic with kit's recorder, then the record shown and kept."""
    import ipytest
    from ipytest._impl import ipytest_magic
    from IPython import get_ipython
    from IPython.display import display

    shell = get_ipython()
    scratch = Path(tempfile.mkdtemp(prefix="kit-cell-"))
    record = scratch / "cell.jsonl"
    args = f"{line} -p kit.plugin --kit-record={shlex.quote(str(record))}"
    started, failure = time.monotonic(), None
    ipytest.exit_code = None
    try:
        try:
            ipytest_magic(args, cell)
        except ipytest.Error as exc:  # raise_on_error: shown first, raised after, as ipytest does
            failure = exc
        result = cell_result(record, ipytest.exit_code, time.monotonic() - started)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    shell.user_ns["_kit"] = result  # a cell that stopped before pytest recorded anything: an empty result, never
    display(result)                  # the previous cell's
    keep(result)
    if failure is not None:
        raise failure


# Like %%ipytest: `{MODULE}` and `{test_name}` in the line are ipytest's, not IPython's variable expansion.
kit_magic._ipython_magic_no_var_expand = True  # type: ignore[attr-defined]


def cell_result(record: Path, exit_code: Any, seconds: float) -> KitCell:
    """The cell's record read and classified; no tests when nothing was recorded (pytest stopped on a usage
    error before kit's plugin started)."""
    from kit.diagnose.classify import classify
    from kit.run.runner import PytestRun, overall_outcome, read_record

    cases, events, config = [], [], {}
    if record.exists():
        # ipytest's module for the cell is a random `t_<uuid>.py` in the working directory: the cell is `cell.py`.
        record.write_text(_IPYTEST_MODULE.sub("cell.py", record.read_text(encoding="utf-8")), encoding="utf-8")
        cases, events, config = read_record(record)
    code = int(exit_code) if exit_code is not None else None
    run = PytestRun(overall_outcome(code, cases, False), code, cases, events, config, round(seconds, 3), "")
    return KitCell(run, classify(run, suite=SUITE), code)


def keep(result: KitCell) -> None:
    """Append every test of the cell to the records store."""
    from kit.common.versions import collect_versions
    from kit.run.records import append_records, new_run_id, test_record

    run_id, versions, kind = new_run_id(), collect_versions(), _target_kind()
    append_records([test_record(case, group=GROUP, versions=versions, target_kind=kind, run_id=run_id)
                    for case in result.run.cases])


def _target_kind() -> str | None:
    """Where the cell's ``DATABASE_URL`` points: kit's own export (``embedded``), the user's (``url``), or none."""
    from kit.db.target import KIT_OWN_DATABASE_URL, KIT_USER_DATABASE_URL

    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    own = url == os.environ.get(KIT_OWN_DATABASE_URL) and not os.environ.get(KIT_USER_DATABASE_URL)
    return "embedded" if own else "url"


# pytest's exit codes when no test ran: why, in the cell's words
_NO_TEST = {0: ": nothing to run, e.g. --collect-only", 2: ": interrupted", 3: ": an internal error, shown above",
            4: ": a usage error, shown above", 5: ": no test collected"}
_OUTCOME_COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "error": "#cf222e", "skipped": "#6e7781"}


def outcome_table(run: PytestRun) -> str:
    """Per test: outcome, the loop of each phase and of each fixture, the first error: an escaped HTML table."""
    from kit.common.text import one_line
    from kit.diagnose.evidence import short
    from kit.diagnose.render import headline

    if not run.cases:
        why = _NO_TEST.get(run.exit_code, "") if run.exit_code is not None else ""
        return f"<p>%%kit: no test ran in this cell (pytest's exit code {run.exit_code}{why}).</p>"
    rows = []
    for case in run.cases:
        colour = _OUTCOME_COLOURS.get(case.outcome, "#000")
        phases = ", ".join(f"{phase}: {'/'.join(loops)}" for phase, loops in case.loops.items() if loops)
        fixtures = ", ".join(f"{name}: {loop}" for name, loop in case.fixture_loops.items())
        error = f"{short(case.error_type)}: {one_line(headline(case.message), 200)}" if case.error_type else ""
        rows.append(f"<tr><td>{html.escape(case.nodeid.split('::')[-1])}</td>"
                    f"<td style='color:{colour};font-weight:bold'>{html.escape(case.outcome)}</td>"
                    f"<td>{html.escape(phases)}</td><td>{html.escape(fixtures)}</td><td>{html.escape(error)}</td></tr>")
    return ("<table class='kit-cell'><thead><tr><th>test</th><th>outcome</th><th>loops (phase)</th>"
            "<th>loops (fixture)</th><th>error</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
