"""Running ``kit diagnose``: the suite run once with kit's recorder, classified, advised on and recorded.

:func:`diagnose` is the run itself (the caller picks the database); :func:`run_diagnosis` is the CLI's and
notebook's entry point, which picks the database the way ``kit diagnose`` documents it and appends the result
to the records store. A run that never got to the tests (nothing collected, a conftest that does not import)
is not a diagnosis: it raises a :class:`~kit.errors.DiagnoseError` paragraph saying what to fix.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from kit.common.masking import mask_url
from kit.common.text import one_line
from kit.common.versions import collect_versions, run_versions
from kit.diagnose.advisor import Advice, advise
from kit.diagnose.classify import classify
from kit.diagnose.model import Diagnosis
from kit.errors import DiagnoseError
from kit.run.runner import PytestRun

if TYPE_CHECKING:
    from kit.db.target import Target

__all__ = ["DEFAULT_TIMEOUT", "check_suite_path", "checked_target", "diagnose", "diagnose_as_kit_does", "run_diagnosis",
           "example_suite"]

DEFAULT_TIMEOUT = 600.0


def check_suite_path(path: Path) -> Path:
    """The suite directory, or a :class:`DiagnoseError` that says what is wrong with it."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DiagnoseError(f"There is no directory '{path}'. Pass the root of the project whose tests you want "
                            "diagnosed (the directory holding pytest.ini/pyproject.toml and the tests).")
    if not path.is_dir():
        raise DiagnoseError(f"'{path}' is a file; pass the project directory that holds it (kit runs pytest "
                            "there, with the project's own configuration), and test selections after `--`.")
    return path.resolve()


def _bad_run(run: PytestRun, path: Path) -> None:
    """Raise a paragraph for runs that never got to the tests: nothing collected, or collection errors."""
    output = run.output or ""
    conftest = re.search(r"ImportError while loading conftest '([^']+)'", output)
    located = re.findall(r'File "([^"]+)", line (\d+)', output)
    last_error = re.findall(r"^E\s+(\w+(?:Error|Exception)\b.*)$", output, re.M)
    if conftest:
        where = f"{located[-1][0]}, line {located[-1][1]}" if located else conftest.group(1)
        error = last_error[-1] if last_error else "import error"
        raise DiagnoseError(f"pytest could not load {conftest.group(1)}: {error} "
                            f"({where}). No test ran. Fix that file (run `python -m pytest --collect-only` in "
                            f"{path} to see the full error) and diagnose again.")
    collect = [c for c in run.cases if c.phase == "collect"]
    ran = [c for c in run.cases if c.phase != "collect"]
    if collect and not ran:
        first = collect[0]
        where = re.findall(r'File "([^"]+)", line (\d+)', first.message or "")
        place = f" ({where[-1][0]}, line {where[-1][1]})" if where else ""
        raise DiagnoseError(f"pytest could not collect {first.nodeid or 'the suite'}: {first.error_type}{place}. "
                            f"No test ran ({len(collect)} collection error(s)). Fix the import or syntax error "
                            f"(`python -m pytest --collect-only` in {path} shows it in full) and diagnose again.")
    if run.exit_code == 5 or (run.outcome != "timeout" and not run.cases):
        if run.exit_code in (0, 5) or run.exit_code is None or "no tests ran" in output:
            raise DiagnoseError(f"pytest found no tests in {path}. Is it a pytest project? Pass the directory that "
                                "holds the tests (test_*.py files) and their conftest.py, or select tests after `--`.")
        tail = one_line(output[-600:], 600)
        raise DiagnoseError(f"pytest stopped before running any test in {path} (exit code {run.exit_code}): {tail}")


def diagnose(path: Path, database_url: str | None = None, *, args: tuple[str, ...] | list[str] = (),
             timeout: float = DEFAULT_TIMEOUT, env: dict[str, str] | None = None) -> Diagnosis:
    """Run the suite at ``path`` (cwd=path) with kit's recorder, ``DATABASE_URL`` set to ``database_url``
    when given (else the caller's environment) and ``env`` added, and classify what it recorded."""
    from kit.run.runner import run_pytest

    project = check_suite_path(path)
    run = run_pytest(project, database_url, args=tuple(args), timeout=timeout, cwd=project, env=env)
    _bad_run(run, project)
    diagnosis = classify(run, str(project), project)
    diagnosis.advice = _advice(project, run, {f.cause for f in diagnosis.findings})
    return diagnosis


def _advice(project: Path, run: PytestRun, causes: set[str]) -> list[Advice]:
    """The upgrade advisor's view of this suite, against the versions the run used, backed by the latest
    recorded ``kit matrix`` run, and kept true to what the run showed."""
    return advise(project, run.config, run_versions(run.config), run=run, causes=causes)


def run_diagnosis(path: Path, url: str | None = None, *, args: tuple[str, ...] | list[str] = (),
                  timeout: float = DEFAULT_TIMEOUT, allow_any_database: bool = False,
                  driver: str | None = None) -> Diagnosis:
    """The CLI's and notebook's entry point: pick the database the way ``kit diagnose`` documents it
    (:func:`diagnose_as_kit_does`), run, and append the result to the records store."""
    project = check_suite_path(path)
    target = checked_target(url, allow_any_database)
    diagnosis = diagnose_as_kit_does(project, target, url, args=args, timeout=timeout, driver=driver)
    _record(diagnosis, target.kind)
    return diagnosis


def checked_target(url: str | None, allow_any_database: bool = False) -> Target:
    """The server a diagnosis may use, checked first: a wrong password is one paragraph before any suite runs,
    whichever way the URL arrived."""
    from kit.db.target import check_reachable, resolve_target

    target = resolve_target(url, allow_any_database=allow_any_database)
    check_reachable(target)
    return target


def diagnose_as_kit_does(project: Path, target: Target, url: str | None, *, args: tuple[str, ...] | list[str] = (),
                         timeout: float = DEFAULT_TIMEOUT, driver: str | None = None) -> Diagnosis:
    """One diagnosed run with ``kit diagnose``'s database rules (``kit fix`` reruns through here too).

    The user's ``DATABASE_URL`` (not one a kit notebook exported for its own cells), when set and no ``url``
    is given: used as is, nothing created. ``url`` or the embedded server: a fresh scratch database on that
    server, exported as ``DATABASE_URL`` for the run, dropped afterwards, on the driver the suite is written for
    (``driver``, else the one ``url`` names, else the suite's own: :func:`kit.diagnose.driver.suite_driver`).
    A suite that uses Redis gets a scratch Redis database unless ``REDIS_URL`` is set.
    """
    from kit.db.target import reachable, scratch_database, user_database_url

    users = user_database_url()
    with _redis_for(project) as (env, redis_line):
        if url is None and users:
            diagnosis = diagnose(project, users, args=args, timeout=timeout, env=env)
            diagnosis.database = "your DATABASE_URL, as is"
        else:
            from kit.diagnose.driver import suite_driver

            chosen, why = suite_driver(project, driver, target.driver if target.kind == "url" else None)
            with scratch_database(target, f"diagnose_{project.name}") as scratch:
                diagnosis = diagnose(project, scratch.url_for(chosen), args=args, timeout=timeout, env=env)
            where = "the embedded server" if target.kind == "embedded" else mask_url(target.url_for(chosen))
            diagnosis.database = f"a scratch database on {where}, driver {chosen} (from {why})"
        diagnosis.database += redis_line
    if (diagnosis.failed or diagnosis.errors) and not reachable(target):
        diagnosis.database_gone = (
            f"The database went away during the run ({target.masked} stopped answering): the failures after "
            "that point are its fallout, not findings about your suite. Check the server (`kit db status`, or "
            "your docker test-db) and run the command again.")
    return diagnosis


@contextlib.contextmanager
def _redis_for(project: Path) -> Iterator[tuple[dict[str, str], str]]:
    """A suite that uses Redis while the user set no ``REDIS_URL`` gets a scratch database of kit's embedded Redis
    (flushed afterwards), the way it gets a scratch PostgreSQL database; the user's ``REDIS_URL`` is theirs, as is."""
    from kit.diagnose.driver import uses_redis

    if not uses_redis(project):
        yield {}, ""
        return
    from kit.db.redis_target import check_user_redis, scratch_redis

    if os.environ.get("REDIS_URL"):
        check_user_redis()
        yield {}, "; Redis: your REDIS_URL, as is"
        return

    with scratch_redis() as redis_url:
        yield {"REDIS_URL": redis_url}, "; Redis: a scratch database of kit's embedded Redis, as REDIS_URL"


def _record(diagnosis: Diagnosis, target_kind: str) -> None:
    """Append the diagnosis and every test it ran to the records store."""
    from kit.run.records import RunRecord, append_records, new_run_id, test_record

    run_id, versions = new_run_id(), collect_versions()
    causes = sorted({f.cause for f in diagnosis.roots})
    records = [RunRecord("diagnose", diagnosis.suite, "failed" if diagnosis.findings else "passed",
                         error_type="DatabaseGone" if diagnosis.database_gone else None,
                         error_message=diagnosis.database_gone, versions=versions, target_kind=target_kind,
                         run_id=run_id, duration_s=diagnosis.run.duration_s if diagnosis.run else 0.0,
                         details={"passed": diagnosis.passed, "failed": diagnosis.failed,
                                  "errors": diagnosis.errors, "causes": causes})]
    group = f"diagnose/{Path(diagnosis.suite).name}"
    records += [test_record(case, group=group, versions=versions, target_kind=target_kind, run_id=run_id)
                for case in (diagnosis.run.cases if diagnosis.run else [])]
    append_records(records)


def example_suite(destination: Path) -> Path:
    """A suite to diagnose when the notebook is not pointed at yours: the reference API at its ``simplified``
    stage (module-level engine, session-scoped schema fixture, legacy event_loop fixture), or, without the
    reference package, the catalogue's ``module-engine-per-test-loop`` broken variant."""
    try:
        from kit.reference import assemble_stage

        return assemble_stage("simplified", destination)
    except ImportError:
        from kit.catalogue.scenario import assemble, get_scenario

        return assemble(get_scenario("module-engine-per-test-loop"), "broken", Path(destination))
