"""``kit investigate``: execute every notebook in a real Jupyter kernel and render the shared reports.

Each notebook runs in its own kernel (nbclient), in order. A failing cell fails that notebook only: the
others still run and every report is still written, and the command exits non-zero naming the notebook
and cell. The kernels inherit the target through the environment (``DATABASE_URL`` for a URL target;
the same kit state directory, hence the same warm embedded server, otherwise).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kit.common.html import write_masked
from kit.common.masking import mask_text
from kit.common.paths import data_dir, notebooks_dir
from kit.common.text import one_line
from kit.common.versions import collect_versions
from kit.db.target import KIT_OWN_DATABASE_URL, Target, check_reachable
from kit.errors import NotebookError
from kit.report.html import NotebookResult, render_notebook, write_index
from kit.report.parameters import inject_parameters
from kit.run import cancel
from kit.run.kernel import execute_notebook, failed_cell, import_nbformat
from kit.run.records import RunRecord, append_records, last_durations, new_run_id

__all__ = ["InvestigateSummary", "investigate", "select_notebooks"]


@dataclass
class InvestigateSummary:
    results: list[NotebookResult] = field(default_factory=list)
    index: Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)


def select_notebooks(names: list[str] | None = None, directory: Path | None = None) -> list[Path]:
    directory = directory or notebooks_dir()
    every = sorted(directory.glob("[0-9]*.ipynb"))
    if not names:
        if not every:
            raise NotebookError(f"No notebooks found in {directory}. Run kit from its checkout "
                                "(`pip install -e .` in the cloned repository).")
        return every
    chosen = []
    for name in names:
        path = Path(name)
        match = path if path.suffix == ".ipynb" and path.exists() else next(
            (p for p in every if p.stem == name or p.stem.startswith(name)), None)
        if match is None:
            raise NotebookError(f"No notebook matches '{name}'. Available: {', '.join(p.stem for p in every)}.")
        chosen.append(match)
    return chosen


def _longest_first(paths: list[Path]) -> list[Path]:
    """Start the notebooks that took longest last time first: parallel lanes then finish together."""
    last = last_durations("notebook")
    return sorted(paths, key=lambda p: -last.get((p.stem, None), float("inf")))


def investigate(target: Target, out: Path, notebooks: list[str] | None = None, timeout: float = 900,
                jobs: int = 1, parameters: dict[str, object] | None = None) -> InvestigateSummary:
    """Execute the notebooks against ``target`` and write ``out/<name>.ipynb``, ``.html`` and ``index.html``.

    ``jobs`` notebooks run at once, each in its own kernel: they are independent (every run makes its own
    scratch database) and spend most of their time waiting on pytest subprocesses. ``parameters``
    (``NAME=VALUE`` text, papermill's convention) are injected after each notebook's ``parameters`` cell.

    The database is checked first (a wrong password is one paragraph, not eight failed notebooks), and the
    reports are written to a staging directory and moved into ``out`` only when every notebook has run: an
    interrupted run leaves the previous complete set of reports as it was.
    """
    paths = select_notebooks(notebooks)
    injected = {path: inject_parameters(path, parameters) for path in paths} if parameters else {}
    check_reachable(target)
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out, wait=timeout * len(paths)):
        staging = Path(tempfile.mkdtemp(prefix=".kit-partial-", dir=out))
        try:
            summary = _investigate(target, staging, paths, timeout, jobs, injected)
            summary.index = _publish(staging, out, summary)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    _say_outcome(summary)
    return summary


def _publish(staging: Path, out: Path, summary: InvestigateSummary) -> Path:
    """Move the finished reports into ``out`` (each file replaced atomically), the index last."""
    for result in summary.results:
        for attribute in ("notebook_path", "html_path"):
            written = getattr(result, attribute)
            if written:
                setattr(result, attribute, str(Path(written).replace(out / Path(written).name)))
    return (staging / "index.html").replace(out / "index.html")


@contextlib.contextmanager
def _exclusive(out: Path, wait: float):
    """One ``kit investigate`` writes a report directory at a time; a second one waits its turn."""
    with open(out / ".kit-investigate.lock", "a+") as handle:
        deadline = time.monotonic() + wait
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise NotebookError(f"Another kit investigate kept {out}/ busy for {wait:.0f} s. Wait for it "
                                        "to finish, or give this run its own directory with --out.") from None
                if not announced:
                    print(f"kit investigate: another run is writing {out}/; waiting for it (or use --out)", flush=True)
                    announced = True
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _investigate(target: Target, out: Path, paths: list[Path], timeout: float, jobs: int,
                 injected: dict[Path, object]) -> InvestigateSummary:
    nbformat = import_nbformat()
    os.environ["KIT_DATA_DIR"] = str(data_dir())
    if target.kind == "url":
        os.environ["DATABASE_URL"] = target.url
        os.environ.pop(KIT_OWN_DATABASE_URL, None)  # the user's URL: a suite diagnosed in a notebook may use it
    context = {"started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "target_kind": target.kind,
               "target": target.masked, "versions": collect_versions()}
    summary, run_id = InvestigateSummary(), new_run_id()
    lock, finished = threading.Lock(), [0]
    print(f"kit investigate: {len(paths)} notebook(s) against {target.masked} ({target.kind}) -> "
          f"{out.parent}/, {jobs} at a time", flush=True)
    began = time.monotonic()

    def one(path: Path) -> NotebookResult:
        with lock:  # one line per notebook: two threads' print() calls would interleave text and newline
            print(f"  started {path.stem}", flush=True)
        started = time.monotonic()
        notebook = injected.get(path) or nbformat.read(path, as_version=4)
        error = execute_notebook(notebook, path.parent, timeout)
        if cancel.interrupted():
            raise KeyboardInterrupt  # a killed kernel is no result: write nothing for it
        cell, cell_error = failed_cell(notebook)
        result = NotebookResult(path.stem, error is None and cell is None, round(time.monotonic() - started, 2),
                                cell, mask_text(error or cell_error))
        result.notebook_path = str(write_masked(out / path.name, nbformat.writes(notebook)))
        result.html_path = str(render_notebook(notebook, result, context, out / f"{path.stem}.html"))
        with lock:
            finished[0] += 1
            verdict = "ok" if result.ok else f"FAILED at cell {result.failed_cell}: {one_line(result.error)}"
            print(f"[{finished[0]}/{len(paths)}] {path.stem} ... {verdict} ({result.seconds:.1f} s)", flush=True)
            append_records([RunRecord("notebook", path.stem, "passed" if result.ok else "failed",
                                      error_message=result.error, duration_s=result.seconds,
                                      versions=context["versions"], target_kind=target.kind, run_id=run_id,
                                      details={"failed_cell": cell})])
        return result

    order = _longest_first(paths)
    by_path = dict(zip(order, cancel.run_all(one, order, jobs)))
    summary.results = [by_path[path] for path in paths]  # index order = notebook order
    context["wall_s"] = round(time.monotonic() - began, 1)
    summary.index = write_index(summary.results, context, out / "index.html")
    return summary


def _say_outcome(summary: InvestigateSummary) -> None:
    failed = [r for r in summary.results if not r.ok]
    print(f"reports: {summary.index}  ({len(summary.results) - len(failed)} passed, {len(failed)} failed)")
    for r in failed:
        print(f"kit: notebook {r.name} failed at cell {r.failed_cell}: {one_line(r.error)} "
              f"(the report {r.html_path} shows the whole error)", file=sys.stderr)
