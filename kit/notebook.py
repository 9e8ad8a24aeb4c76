"""Helpers that keep the notebooks thin: one call per step, a table, a plot.

A kernel already runs an event loop, so pytest-asyncio inside ``%%ipytest`` needs ipytest to run
pytest in a thread (``run_in_thread=True``); kit passes every option to ``ipytest.autoconfig`` at once
(calling ``ipytest.config`` afterwards leaves its coverage option set on 0.14).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from kit.common.text import one_line, short_type
from kit.db.target import Target, export_own_database_url, resolve_target
from kit.run.records import load_records

if TYPE_CHECKING:
    import pandas as pd

    from kit.catalogue.reproduce import VariantResult
    from kit.db.probe import ProbeResult
    from kit.diagnose.repair.fix import FixResult
    from kit.reference.suite import StageResult

__all__ = ["setup", "target", "records", "checks_table", "scenario_table", "loops_table", "stage_table",
           "scratch_database", "IPYTEST_ADDOPTS"]

# pytest's configuration for inline tests is kit's own (kit/notebook.ini, given with -c): the kit checkout's
# pyproject.toml above the notebooks configures kit's tests, and its options (`timeout`) would warn in every
# cell. Failures shown on purpose get the one-line summary (`--tb=no -rfE`, no warnings summary), not 60 lines
# of SQLAlchemy internals with local paths: `%%ipytest --tb=short` brings the traceback back for one cell.
IPYTEST_ADDOPTS = ("-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning",
                   "-c", str(Path(__file__).with_name("notebook.ini")), "--rootdir=.", "--tb=no", "-rfE",
                   "--disable-warnings")


@lru_cache(maxsize=1)
def target() -> Target:
    """The investigation's database (``DATABASE_URL`` or the embedded server), exported for ``%%ipytest`` cells."""
    resolved = resolve_target()
    if resolved.kind == "embedded":  # kit's choice, not the user's: marked so (see user_database_url)
        export_own_database_url(resolved.url)
    return resolved


def setup(raise_on_error: bool = False) -> Target:
    """Configure pandas, matplotlib and ipytest for this kernel, and return the target."""
    import ipytest
    import matplotlib
    import pandas as pd

    pd.set_option("display.max_colwidth", 120)
    pd.set_option("display.width", 160)
    matplotlib.rcParams.update({"figure.dpi": 100, "figure.figsize": (9, 3.6), "axes.spines.top": False,
                                "axes.spines.right": False})
    ipytest.autoconfig(run_in_thread=True, raise_on_error=raise_on_error, addopts=IPYTEST_ADDOPTS)
    _readable_frames()
    # A test that pytest-asyncio could not start (shown on purpose: no run_in_thread) is already reported as
    # failed; its coroutine, never awaited, would add a stderr box with a site-packages path under a later cell.
    warnings.filterwarnings("ignore", message=r"coroutine 'test_\w*' was never awaited", category=RuntimeWarning)
    _load_kit_magic()
    return target()


def _load_kit_magic() -> None:
    """``%%kit`` (:mod:`kit.magic`) in this kernel, as ``%load_ext kit`` loads it; nothing outside IPython."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.extension_manager.load_extension("kit")


def _readable_frames() -> None:
    """Every DataFrame this kernel shows goes through :func:`frame_html` (JupyterLab and the HTML reports)."""
    import pandas as pd
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)


_FRAME_STYLES = [{"selector": "th, td", "props": "text-align: left; vertical-align: top; white-space: pre-wrap; "
                                                 "overflow-wrap: anywhere; max-width: 42em;"}]


def frame_html(frame: pd.DataFrame) -> str | None:
    """A DataFrame as HTML that reads: text left-aligned and wrapped at word boundaries, not cut mid-word, wide
    tables kept inside the page, every value escaped (messages hold ``<Task ...>`` reprs). None for frames
    pandas renders better itself (long ones: it truncates them)."""
    import pandas as pd

    if len(frame) > 300 or frame.columns.nlevels > 1:
        return None
    styler = (frame.style.set_table_styles(_FRAME_STYLES).format(precision=3, na_rep="", escape="html")
              .set_table_attributes('class="dataframe"'))
    if isinstance(frame.index, pd.RangeIndex):
        styler = styler.hide(axis="index")
    return styler.to_html()


def records(kind: str | None = None, last: int | None = None) -> pd.DataFrame:
    """The records store as a DataFrame (optionally one kind, the ``last`` N rows)."""
    frame = load_records(kind=kind)
    return frame.tail(last).reset_index(drop=True) if last else frame


def checks_table(result: ProbeResult) -> pd.DataFrame:
    """A probe result's checks as a DataFrame with milliseconds."""
    import pandas as pd

    frame = pd.DataFrame([vars(c) for c in result.checks])
    frame["ms"] = (frame.pop("seconds") * 1000).round(1)
    return frame[["name", "ok", "ms", "error"]]


def scenario_table(results: Sequence[VariantResult]) -> pd.DataFrame:
    """One row per entry and variant: outcome, whether it behaved as the catalogue says, first error."""
    import pandas as pd

    frame = pd.DataFrame([{
        "entry": r.scenario, "variant": r.variant, "driver": r.driver, "outcome": r.outcome,
        "as expected": r.reproduced,
        "passed": r.tests_passed, "failed": r.tests_failed, "errored": r.tests_errored,
        "first error": short_type(r.first_error_type),
        "message": one_line(r.first_error_message, 110), "seconds": r.duration_s,
    } for r in results])
    return frame


def loops_table(result: VariantResult) -> pd.DataFrame:
    """Per test of one variant: the loop of each phase and fixture, and the outcome."""
    import pandas as pd

    rows = []
    for test in result.tests:
        row = {"test": test["nodeid"].split("::")[-1], "outcome": test["outcome"],
               "error": short_type(test["error_type"])}
        row.update({f"{phase} loop": ",".join(loops) for phase, loops in test["loops"].items()})
        row.update({f"fixture {name}": loop for name, loop in test["fixture_loops"].items()})
        rows.append(row)
    frame = pd.DataFrame(rows).fillna("")
    # The same column order whatever ran first: broken and fixed tables read side by side.
    phases = [f"{phase} loop" for phase in ("setup", "call", "teardown") if f"{phase} loop" in frame.columns]
    fixtures = sorted(c for c in frame.columns if c.startswith("fixture "))
    return frame[[c for c in ("test", "outcome", "error") if c in frame.columns] + phases + fixtures]


def stage_table(result: StageResult) -> pd.DataFrame:
    """Per test of one stage run: suite, outcome, first failing phase, error and message, as recorded."""
    import pandas as pd

    return pd.DataFrame([{
        "test": t.nodeid.split("::")[-1], "suite": t.suite, "outcome": t.outcome, "phase": t.phase or "",
        "error": short_type(t.error_type), "message": one_line(t.message, 100),
        "seconds": round(t.duration_s, 3), "as the report says": t.as_expected,
    } for t in result.tests])


def scratch_database(label: str) -> str:
    """A fresh database for this kernel's inline ``%%ipytest`` replays, exported as ``DATABASE_URL``.

    Replays create and drop tables; they must never do that in the target database itself (it may be
    your docker test-db). The database is dropped when the kernel exits.
    """
    import atexit

    from kit.common.aio import run_sync
    from kit.db.target import create_database, drop_database

    base = target()
    scratch = run_sync(create_database(base, label))
    atexit.register(lambda: run_sync(drop_database(base, scratch)))
    export_own_database_url(scratch.url)
    return scratch.masked


def fix_table(result: FixResult) -> pd.DataFrame:
    """``kit fix``'s before and after: passed, failed and errors of the suite, and the tests it ran."""
    import pandas as pd

    rows = {"before": result.before, "after kit fix": result.after}
    return pd.DataFrame([{"passed": c.passed, "failed": c.failed, "errors": c.errors,
                          "tests": c.passed + c.failed + c.errors} for c in rows.values()], index=list(rows))


_DIFF_COLOURS = {"+": "#1a7f37", "-": "#cf222e", "@": "#8250df"}


def diff_view(diff: str):
    """A unified diff (``kit fix``'s patch, ``kit stage diff``) as an escaped HTML ``<pre>``: added lines green,
    removed lines red, hunk headers violet."""
    import html

    from IPython.display import HTML

    if not diff.strip():
        return HTML("<p>No change.</p>")
    lines = []
    for line in diff.splitlines():
        colour = None if line.startswith(("+++", "---")) else _DIFF_COLOURS.get(line[:1])
        lines.append(f"<span style='color:{colour}'>{html.escape(line)}</span>" if colour else html.escape(line))
    return HTML("<pre style='font-size:.85em;line-height:1.35;overflow-x:auto'>" + "\n".join(lines) + "</pre>")


# The team's step 4, stage by stage (kit stage list), and what each pass was about.
_HAND_STEPS = (("4.1", "simplified", "stabilised", "loops: every engine, session and client on its test's loop"),
               ("4.2", "stabilised", "auth", "the user and token fixtures back, one at a time"),
               ("4.3", "auth", "full", "the mocks and the business and coaching suites back"))


def changed_lines(diff: str) -> int:
    """Lines a unified diff adds or removes (its file headers left out)."""
    return sum(1 for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---")))


def step4_table(result: FixResult, original: FixResult | None = None) -> pd.DataFrame:
    """The team's hand-made passes of step 4 (``kit stage diff``) beside ``kit fix``'s patches on the stages it
    repaired: what each changed, in files and lines."""
    import pandas as pd

    from kit.reference.suite import diff_stages

    rows = []
    for step, before, after, what in _HAND_STEPS:
        diff = diff_stages(before, after)
        rows.append({"step": step, "by": "the team, by hand", "change": f"{before} -> {after}", "what": what,
                     "files": sum(1 for line in diff.splitlines() if line.startswith("+++ ")),
                     "lines changed": changed_lines(diff)})
    for stage, fixed in (("simplified", result), ("original", original)):
        if fixed is not None:
            after = fixed.after
            rows.append({"step": "4.1 automated", "by": "kit fix", "change": f"{stage}, repaired: {after.passed} of "
                         f"{after.passed + after.failed + after.errors} tests pass",
                         "what": ", ".join(sorted({e.cause for r in fixed.rounds for e in r.edits})) or "no edit",
                         "files": len(fixed.changed), "lines changed": changed_lines(fixed.patch)})
    return pd.DataFrame(rows)


def repaired_copy(result: FixResult, destination: str | Path) -> Path:
    """A fresh copy of the suite ``result`` repaired, under ``destination``, with kit's repaired files written into
    it: what ``kit fix --apply`` would leave, to run again. The suite itself is never written."""
    from kit.diagnose.repair.workspace import Workspace

    work = Workspace(Path(result.suite), Path(destination))
    for rel, text in result.changed.items():
        if text is None:
            (work.root / rel).unlink(missing_ok=True)
        else:
            work.write(rel, text)
    return work.root


__all__ += ["fix_table", "diff_view", "changed_lines", "step4_table", "repaired_copy"]


def record_like_ci(suite: str | Path, record: str | Path, args: Sequence[str] = (), timeout: float = 600) -> dict:
    """Run ``suite`` as a CI job does: ``python -m pytest -p kit.plugin --kit-record=RECORD ARGS`` in its directory,
    with this kernel's environment (``DATABASE_URL``: see :func:`scratch_database`), in a process group of its own
    that is killed after ``timeout`` seconds. Returns one row: the record, the arguments, pytest's exit code and the
    streams the recorder wrote (RECORD, and under pytest-xdist RECORD.gw0, RECORD.gw1...)."""
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    from kit.run import cancel, forkserver
    from kit.run.streams import stream_files

    record = Path(record)
    record.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIT_RECORD", "KIT_HANG"))}
    command = [sys.executable, "-m", "pytest", "-p", "kit.plugin", f"--kit-record={record}", "-p", "no:cacheprovider",
               "-q", *args]
    with tempfile.TemporaryFile() as output:  # a file, never a pipe: a chatty run cannot block
        process = subprocess.Popen(command, cwd=suite, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, preexec_fn=forkserver.own_group_dies_with_parent)
        with cancel.running_group(process.pid):
            try:
                code: int | None = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                code = None
    streams = stream_files(record)
    return {"record": record.name, "pytest args": " ".join(args),
            "exit code": code if code is not None else f"killed after {timeout:g} s",
            "streams": ", ".join(p.name for p in streams)}


__all__ += ["record_like_ci"]
