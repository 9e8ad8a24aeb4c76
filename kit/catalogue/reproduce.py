"""Running catalogue entries: each variant in its own scratch database, in a real pytest subprocess
(or, for notebook entries, in a real Jupyter kernel), judged by :mod:`kit.catalogue.judge`.

A ``broken`` variant is *reproduced* when its symptom shows up (in the phase the entry names); a ``fixed``
variant when every test passes. Results are appended to the records store, one record per variant and
one per test (with the loops each test and fixture ran on).

Database entries run on SQLAlchemy's asyncpg driver, and also on psycopg 3 where their ``[drivers]`` table
says what happens there (the suite is handed a ``postgresql+psycopg://`` URL). Entries that need Redis get
``REDIS_URL``, a scratch database index of kit's embedded Redis (or the user's ``REDIS_URL``), flushed after.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kit.catalogue import judge
from kit.catalogue.scenario import DEFAULT_DRIVER, DRIVERS, VARIANTS, Scenario, assemble, catalogue, get_scenario
from kit.common.html import card, table
from kit.common.text import one_line, short_type
from kit.common.versions import run_versions
from kit.db.target import Target, reachable, scratch_database, server_version
from kit.errors import RedisError, ScenarioError, TargetError
from kit.run import cancel
from kit.run.progress import Progress
from kit.run.records import RunRecord, append_records, last_durations, new_run_id, test_record
from kit.run.runner import PytestRun, overall_outcome, read_record, run_pytest

__all__ = ["VariantResult", "run_variant", "run_scenarios", "chosen_drivers", "DATABASE_GONE"]

DEFAULT_TIMEOUT = 120.0


@dataclass
class VariantResult:
    scenario: str
    variant: str
    outcome: str
    reproduced: bool
    tests_passed: int
    tests_failed: int
    tests_errored: int
    first_error_type: str | None
    first_error_message: str | None
    duration_s: float
    versions: dict = field(default_factory=dict)
    secondary_seen: list = field(default_factory=list)  # the entry's secondary symptoms this run showed
    tests: list = field(default_factory=list)   # per test: nodeid, outcome, phase, error_type, loops, fixture_loops
    hang_dump: str | None = None
    driver: str = DEFAULT_DRIVER  # the SQLAlchemy driver the suite was handed

    def as_dict(self) -> dict:
        return asdict(self)

    def _repr_html_(self) -> str:
        rows = [(t["nodeid"].split("::")[-1], t["outcome"], t.get("phase") or "",
                 short_type(t.get("error_type")), one_line(t.get("message"), 140),
                 " ".join(f"{phase}: {','.join(loops)}" for phase, loops in t.get("loops", {}).items()))
                for t in self.tests]
        expected = "showed its symptom" if self.variant == "broken" else "passed"
        verdict = (f"{self.outcome} in {self.duration_s:.1f} s; " +
                   (f"{expected}, as the catalogue says" if self.reproduced else "NOT as the catalogue says"))
        on = "" if self.driver == DEFAULT_DRIVER else f", {self.driver}"
        return card(f"{self.scenario} ({self.variant}{on})", self.reproduced, verdict,
                    table(("test", "outcome", "phase", "error", "message", "loops"), rows))


def _run_notebook_variant(scenario: Scenario, project: Path, database_url: str, timeout: float,
                          env: dict[str, str]) -> PytestRun:
    """Execute the variant's ``cells*.py`` (in name order) as a notebook in a real kernel.

    ipytest inside the kernel loads kit's plugin, so the records have the same shape as a subprocess run.
    """
    from kit.run.kernel import execute_notebook, failed_cell, notebook_from_cells

    record = project / "kit-record.jsonl"
    notebook = notebook_from_cells("\n# %%\n".join(p.read_text() for p in sorted(project.glob("cells*.py"))))
    started = time.monotonic()
    error = execute_notebook(notebook, project, timeout,
                             env={**env, "DATABASE_URL": database_url, "KIT_RECORD_FILE": str(record)})
    cases, events, config = read_record(record)
    cell, cell_error = failed_cell(notebook)
    if cell_error:  # an error outside any test (e.g. in a plain cell) is still what the user saw
        events.append({"event": "log", "error_type": cell_error.split(":")[0], "message": cell_error,
                       "error_message": "", "phase": "log"})
    timed_out = bool(error) and "longer than" in error
    outcome = overall_outcome(1 if cell is not None or error else 0, cases, timed_out)
    return PytestRun(outcome, None, cases, events, config, round(time.monotonic() - started, 3),
                     output=error or cell_error or "")


DATABASE_GONE = "DatabaseGone"


def _database_gone(scenario: Scenario, variant: str, error: Exception, driver: str) -> VariantResult:
    return VariantResult(scenario.id, variant, "error", False, 0, 0, 0, DATABASE_GONE,
                         f"the database went away: {error}", 0.0, driver=driver)


@contextlib.contextmanager
def _services(scenario: Scenario):
    """The environment of the services an entry needs beyond its database (Redis: a scratch database index)."""
    if "redis" not in scenario.services:
        yield {}
        return
    from kit.db.redis_target import scratch_redis

    with scratch_redis() as url:
        yield {"REDIS_URL": url}


def run_variant(scenario: Scenario, variant: str, target: Target, timeout: float | None = None,
                python: str | None = None, driver: str = DEFAULT_DRIVER) -> VariantResult:
    """Run one variant of one entry in a fresh database and judge it.

    ``python`` is the interpreter that runs pytest (default: kit's own); ``kit matrix`` passes the one of
    each version environment. Notebook entries always run in kit's own kernel.

    When the server cannot be reached (before the run, or it vanished during it), the result is an
    ``error`` whose type is ``DatabaseGone``: not a verdict on the entry (a Redis that is gone too).
    """
    try:
        result = _run_variant(scenario, variant, target, timeout, python, driver)
    except (TargetError, RedisError) as error:
        return _database_gone(scenario, variant, error, driver)
    except Exception as error:  # the server died mid-statement (creating the scratch database): asyncpg's own error
        if reachable(target):
            raise
        return _database_gone(scenario, variant, TargetError(
            f"{target.masked} stopped answering ({short_type(type(error).__name__)}: {one_line(str(error), 120)})"),
            driver)
    if not result.reproduced and not reachable(target):
        return _database_gone(scenario, variant, TargetError(f"{target.masked} stopped answering during the run"),
                              driver)
    return result


def _run_variant(scenario: Scenario, variant: str, target: Target, timeout: float | None,
                 python: str | None = None, driver: str = DEFAULT_DRIVER) -> VariantResult:
    limit = timeout or scenario.time_limit(variant, DEFAULT_TIMEOUT)
    label = f"{scenario.id}_{variant}" + ("" if driver == DEFAULT_DRIVER else f"_{driver}")
    with tempfile.TemporaryDirectory(prefix=f"kit-{scenario.id}-{variant}-") as directory, \
            scratch_database(target, label) as database, _services(scenario) as env:
        project = assemble(scenario, variant, Path(directory))
        url = database.url_for(driver)
        if scenario.kind == "notebook":
            run = _run_notebook_variant(scenario, project, url, limit, env)
        else:
            run = run_pytest(project, url, timeout=limit, python=python, warm=True, env=env)
    error_type, message = judge.first_error(run)
    tests = [{"nodeid": c.nodeid, "outcome": c.outcome, "phase": c.phase, "error_type": c.error_type,
              "message": c.message, "duration_s": round(c.duration_s, 4), "loops": c.loops,
              "fixture_loops": c.fixture_loops} for c in run.cases]
    return VariantResult(scenario.id, variant, run.outcome, judge.reproduced(scenario, variant, run, driver),
                         run.count("passed"), run.count("failed"), run.count("error") + run.count("timeout"),
                         error_type, message, run.duration_s, run_versions(run.config, server_version(target)),
                         judge.secondary_seen(scenario, run), tests, run.hang_dump, driver)


def _records(result: VariantResult, target: Target, run_id: str) -> list[RunRecord]:
    records = [RunRecord("scenario", result.scenario, result.outcome, variant=result.variant,
                         error_type=result.first_error_type, error_message=result.first_error_message,
                         duration_s=result.duration_s, versions=result.versions, target_kind=target.kind,
                         run_id=run_id, details={"reproduced": result.reproduced, "passed": result.tests_passed,
                                                 "failed": result.tests_failed, "errored": result.tests_errored,
                                                 "driver": result.driver})]
    on = "" if result.driver == DEFAULT_DRIVER else f"@{result.driver}"
    records += [test_record(t, group=f"{result.scenario}/{result.variant}{on}", versions=result.versions,
                            target_kind=target.kind, run_id=run_id) for t in result.tests]
    return records


def chosen_drivers(driver: str | None) -> tuple[str, ...]:
    """``asyncpg``, ``psycopg`` or ``both`` (None: both) as the drivers to run on."""
    if driver in (None, "both"):
        return DRIVERS
    if driver not in DRIVERS:
        raise ScenarioError(f"Unknown driver '{driver}': use one of {', '.join(DRIVERS)} or both.")
    return (driver,)


def run_scenarios(
    ids: list[str] | None,
    target: Target,
    variants: tuple[str, ...] = VARIANTS,
    jobs: int = 1,
    timeout: float | None = None,
    progress=None,
    record: bool = True,
    driver: str | None = "both",
) -> list[VariantResult]:
    """Run the chosen entries' variants (all entries by default), ``jobs`` at a time, in catalogue order, on each
    chosen driver the entry supports (``both``: asyncpg, and psycopg where the entry declares it)."""
    scenarios = [get_scenario(i) for i in ids] if ids else catalogue()
    drivers = chosen_drivers(driver)
    work = [(s, v, d) for s in scenarios for d in s.supported_drivers if d in drivers for v in variants]
    if not work:
        raise ScenarioError(f"None of the chosen entries runs on {' or '.join(drivers)}: `kit scenarios list --json` "
                            "shows each entry's drivers. Choose --driver asyncpg (every entry runs on it) or both.")
    if any("redis" in s.services for s, _, _ in work):
        from kit.db.redis_target import check_user_redis

        check_user_redis()  # a bad REDIS_URL is the user's to fix before anything runs, not an entry's failure
    bar = None if progress else Progress(len(work), "catalogue")
    results: dict[int, VariantResult] = {}
    lock, run_id, done = threading.Lock(), new_run_id(), [0]

    def one(index: int) -> None:
        scenario, variant, on = work[index]
        result = run_variant(scenario, variant, target, timeout, driver=on)
        with lock:
            results[index] = result
            done[0] += 1
            if record:
                append_records(_records(result, target, run_id))
            if bar is not None:
                bar.step(_progress_line(done[0], len(work), result), f"{result.scenario} {result.variant} {on}")
            else:
                progress(done[0], len(work), result)

    last = last_durations("scenario")  # longest first (the hang, kernels): parallel lanes finish together
    order = sorted(range(len(work)), key=lambda i: -last.get((work[i][0].id, work[i][1]), float("inf")))
    try:
        cancel.run_all(one, order, jobs, idle=lambda i: _hangs(*work[i][:2]))
    finally:
        if bar is not None:
            bar.close()
    return [results[i] for i in range(len(work))]


def _hangs(scenario: Scenario, variant: str) -> bool:
    """A broken variant whose symptom is its own timeout: it waits on a lock until kit kills it, using no CPU."""
    return variant == "broken" and scenario.symptom.error_type == "timeout"


def _progress_line(done: int, total: int, result: VariantResult) -> str:
    verdict = "as expected" if result.reproduced else "UNEXPECTED"
    error = f"  {result.first_error_type}" if result.first_error_type and result.variant == "broken" else ""
    return (f"[{done:>2}/{total}] {result.scenario:<36} {result.variant:<6} {result.driver:<7} {result.outcome:<8} "
            f"{verdict:<11} {result.duration_s:5.1f} s{error}")
