"""The reference suite in stages: the investigation's steps, replayable on a real database.

Each stage (``kit/reference/stages/<name>/``) is a conftest.py + pytest.ini variant of the "genesis" suite;
``stages.toml`` gives its step, title, the test modules it runs and what each test is expected to do.
``run_stage`` assembles the stage into a temporary directory, runs it with kit's runner in a scratch
database and compares every test with the expectation; ``diff_stages`` shows what changed between two steps.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kit.common.html import card, table
from kit.common.masking import mask_text, register_secret
from kit.common.text import one_line, short_type
from kit.recorder import events as recorded
from kit.reference import STAGE_FILES, STAGES_DIR, assemble_stage, stage_config, stage_names
from kit.run.progress import Progress
from kit.run.runner import CaseResult, run_pytest

__all__ = [
    "Expectation", "Stage", "StageTest", "StageResult",
    "stages", "get_stage", "run_stage", "run_stages", "diff_stages", "list_lines", "summary_line",
]

DEFAULT_TIMEOUT = 120.0


def _short(error_type: str | None) -> str | None:
    return short_type(error_type) or None


@dataclass(frozen=True)
class Expectation:
    """What one test does in a stage (see the header of stages.toml)."""

    outcome: str
    phase: str | None = None
    error_type: str | None = None
    message: str | None = None
    also: tuple[str, ...] = ()
    cause: str | None = None

    def mismatches(self, case: CaseResult) -> list[str]:
        """Why ``case`` is not what this expectation says (empty when it is)."""
        found = []
        if case.outcome != self.outcome:
            found.append(f"outcome {case.outcome}, expected {self.outcome}")
        if self.outcome == "passed":
            return found
        if self.phase and case.phase != self.phase:
            found.append(f"first failure in {case.phase}, expected {self.phase}")
        if self.error_type and _short(case.error_type) != self.error_type:
            found.append(f"error {_short(case.error_type)}, expected {self.error_type}")
        if self.message and not re.search(self.message, case.message or "", re.S):
            found.append(f"message does not match /{self.message}/")
        if self.cause and not any(re.search(self.cause, c.get("message") or "", re.S) for c in case.chain):
            found.append(f"no cause matches /{self.cause}/")
        later = [f"{e['phase']}:{_short(e['type'])}" for e in case.errors[1:]]
        if sorted(later) != sorted(self.also):
            found.append(f"further failures {later or 'none'}, expected {list(self.also) or 'none'}")
        return found

    def describe(self) -> str:
        if self.outcome == "passed":
            return "passed"
        where = f" in {self.phase}" if self.phase else ""
        return (f"{self.outcome}{where}: {self.error_type or '?'}" + "".join(f" (+{a})" for a in self.also)
                + (f" (cause /{self.cause}/)" if self.cause else ""))


@dataclass(frozen=True)
class Stage:
    name: str
    step: str
    title: str
    summary: str
    modules: tuple[str, ...]
    expected: dict = field(default_factory=dict, repr=False)  # "module::test" (or "*") -> Expectation
    path: Path = STAGES_DIR
    services: tuple[str, ...] = ()     # beyond PostgreSQL: "redis" (a scratch Redis, as REDIS_URL)

    def expectation(self, nodeid: str) -> Expectation | None:
        key = nodeid.split("/")[-1]  # "tests/test_auth.py::test_x" -> "test_auth.py::test_x"
        return self.expected.get(key) or self.expected.get("*")

    def as_dict(self) -> dict:
        return {"name": self.name, "step": self.step, "title": self.title, "summary": self.summary,
                "modules": list(self.modules), "services": list(self.services),
                "expected": {k: asdict(v) for k, v in self.expected.items()}}


def _stage(name: str) -> Stage:
    meta = stage_config(name)
    expected = {key: Expectation(**{**value, "also": tuple(value.get("also", ()))})
                for key, value in meta.get("expected", {}).items()}
    return Stage(name, str(meta["step"]), meta["title"], " ".join(meta.get("summary", "").split()),
                 tuple(meta["modules"]), expected, STAGES_DIR / name, tuple(meta.get("services", ())))


def stages() -> list[Stage]:
    """Every stage, in the order of the investigation."""
    return [_stage(name) for name in stage_names()]


def get_stage(name: str) -> Stage:
    return _stage(name)


def suite_of(nodeid: str) -> str:
    """``tests/test_auth.py::test_x`` -> ``auth``."""
    module = nodeid.split("::")[0].rsplit("/", 1)[-1]
    return module.removeprefix("test_").removesuffix(".py")


@dataclass
class StageTest:
    nodeid: str
    suite: str
    outcome: str
    error_type: str | None
    message: str | None
    duration_s: float
    phase: str | None = None
    expected: str | None = None        # Expectation.describe(), None when stages.toml says nothing
    as_expected: bool = True
    mismatch: str | None = None
    loops: dict = field(default_factory=dict)
    fixture_loops: dict = field(default_factory=dict)
    cause: str | None = None           # the first cause (or context) of the error, when it has one
    cross_loop: str | None = None      # a connection it used on another loop: "redis, opened on L15 in test_x"


@dataclass
class StageResult:
    stage: str
    step: str
    outcome: str                       # the run's: passed | failed | error | timeout
    passed: int
    failed: int
    errors: int
    duration_s: float
    as_expected: bool
    tests: list[StageTest]
    missing: list[str] = field(default_factory=list)   # tests stages.toml names that did not run
    output: str = ""                   # masked tail of pytest's output
    hang_dump: str | None = None

    def as_json(self) -> dict:
        """The ``kit stage run --json`` document."""
        return {
            "stage": self.stage, "step": self.step, "as_expected": self.as_expected,
            "passed": self.passed, "failed": self.failed, "errors": self.errors,
            "duration_s": self.duration_s, "missing": self.missing,
            "tests": [{"nodeid": t.nodeid, "suite": t.suite, "outcome": t.outcome, "error_type": t.error_type,
                       "message": t.message, "cause": t.cause, "cross_loop": t.cross_loop,
                       "duration_s": t.duration_s, "phase": t.phase, "expected": t.expected,
                       "as_expected": t.as_expected} for t in self.tests],
        }

    def _repr_html_(self) -> str:
        rows = [(t.nodeid.split("::")[-1], t.suite, t.outcome, t.phase or "", short_type(t.error_type),
                 one_line(t.message, 140), "yes" if t.as_expected else f"NO: {t.mismatch}") for t in self.tests]
        verdict = (f"{self.passed} passed, {self.failed} failed, {self.errors} errors in {self.duration_s:.1f} s; "
                   + ("as the report says" if self.as_expected else "NOT as the report says"))
        return card(f"stage {self.stage} ({self.step})", self.as_expected, verdict,
                    table(("test", "suite", "outcome", "phase", "error", "message", "as the report says"), rows))


def _cross_loop_connections(run_events: list[dict]) -> dict[str, str]:
    """Per test, the first connection it used on a loop other than the one that opened it (recorder evidence)."""
    found: dict[str, str] = {}
    for event in run_events:
        if event.get("event") == recorded.OBJECT and event.get("action") == recorded.CROSS_LOOP_OBJECT:
            opener = (event.get("opened_nodeid") or "").split("::")[-1]
            found.setdefault(event.get("nodeid") or "", f"{event.get('library') or '?'}, opened on "
                             f"{event.get('opened_on') or '?'} " + (f"in {opener}" if opener else "outside any test"))
    return found


def _compare(stage: Stage, cases: list[CaseResult], run_events: list[dict]) -> tuple[list[StageTest], list[str]]:
    tests, cross_loop = [], _cross_loop_connections(run_events)
    for case in cases:
        expectation = stage.expectation(case.nodeid)
        problems = expectation.mismatches(case) if expectation else ["stages.toml has no expectation for it"]
        tests.append(StageTest(
            case.nodeid, suite_of(case.nodeid), case.outcome, case.error_type, mask_text(case.message),
            round(case.duration_s, 4), case.phase, expectation.describe() if expectation else None,
            not problems, "; ".join(problems) or None, case.loops, case.fixture_loops,
            mask_text(case.chain[0].get("message")) if case.chain else None, cross_loop.get(case.nodeid),
        ))
    ran = {case.nodeid.split("/")[-1] for case in cases}
    missing = sorted(key for key in stage.expected if key != "*" and key not in ran)
    return tests, missing


@contextlib.contextmanager
def _services(stage: Stage) -> Iterator[dict[str, str]]:
    """The environment of the services a stage needs beyond its database (Redis: a scratch database index
    of kit's embedded Redis, or of the user's ``REDIS_URL``, emptied before and after)."""
    if "redis" not in stage.services:
        yield {}
        return
    from kit.db.redis_target import scratch_redis

    with scratch_redis() as url:
        password = urlsplit(url).password
        for secret in (password, unquote(password or "")):  # a message that quoted it shows ***
            register_secret(secret)
        yield {"REDIS_URL": url}


def run_stage(name: str, target, *, timeout: float = DEFAULT_TIMEOUT, record: bool = True) -> StageResult:
    """Run stage ``name`` in a fresh scratch database on ``target`` (a ``kit.db.target.Target``) and judge it.

    A stage whose ``services`` name Redis also gets a scratch Redis database, as ``REDIS_URL``.
    ``as_expected`` is true when every test did what stages.toml says and every test it names ran.
    With ``record`` the stage and each test are appended to the run records (kind "stage" and "test").
    """
    from kit.db.target import scratch_database

    stage = get_stage(name)
    with tempfile.TemporaryDirectory(prefix=f"kit-stage-{name}-") as directory, \
            scratch_database(target, f"stage_{name}") as database, _services(stage) as env:
        project = assemble_stage(name, Path(directory))
        run = run_pytest(project, database.url, timeout=timeout, warm=True, env=env)
    tests, missing = _compare(stage, run.cases, run.events)
    as_expected = run.outcome != "timeout" and bool(tests) and not missing and all(t.as_expected for t in tests)
    result = StageResult(
        stage.name, stage.step, run.outcome, run.count("passed"), run.count("failed"),
        run.count("error") + run.count("timeout"), run.duration_s, as_expected, tests, missing,
        run.output[-4000:], run.hang_dump,
    )
    if record:
        _record(result, target, run.config)
    return result


def run_stages(names: list[str] | None, target, *, timeout: float = DEFAULT_TIMEOUT, record: bool = True,
               progress=None) -> list[StageResult]:
    """Run several stages (all, in order, by default) one after the other."""
    results = []
    names = names or stage_names()
    with Progress(len(names), "stages") as bar:
        for name in names:
            result = run_stage(name, target, timeout=timeout, record=record)
            results.append(result)
            if progress:
                progress(result)
            else:
                bar.step("\n".join(report_lines(result)), f"{result.stage}: {result.outcome}")
    return results


def _record(result: StageResult, target, config: dict) -> None:
    from kit.common.versions import run_versions
    from kit.db.target import server_version
    from kit.run.records import RunRecord, append_records, new_run_id, test_record

    versions = run_versions(config, server_version(target))
    run_id = new_run_id()
    first = next((t for t in result.tests if t.outcome in ("failed", "error", "timeout")), None)
    records = [RunRecord("stage", result.stage, result.outcome, variant=result.step,
                         error_type=first.error_type if first else None,
                         error_message=first.message if first else None, duration_s=result.duration_s,
                         versions=versions, target_kind=target.kind, run_id=run_id,
                         details={"as_expected": result.as_expected, "passed": result.passed,
                                  "failed": result.failed, "errored": result.errors, "missing": result.missing})]
    records += [test_record(t, group=f"stage/{result.stage}", versions=versions, target_kind=target.kind,
                            run_id=run_id, details={"suite": t.suite, "expected": t.expected,
                                                    "as_expected": t.as_expected})
                for t in result.tests]
    append_records(records)


def diff_stages(before: str, after: str, *, context: int = 3) -> str:
    """A unified diff of two stages: conftest.py, pytest.ini, and the test modules each runs."""
    first, second = get_stage(before), get_stage(after)
    chunks = []
    if first.modules != second.modules:
        chunks.append(f"test modules: {', '.join(first.modules)} -> {', '.join(second.modules)}\n")
    for filename in STAGE_FILES:
        a = (first.path / filename).read_text().splitlines(keepends=True)
        b = (second.path / filename).read_text().splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(a, b, f"{before}/{filename}", f"{after}/{filename}", n=context))
    text = "".join(chunks)
    return text if not text or text.endswith("\n") else text + "\n"


def _name_width() -> int:
    return max(11, *(len(name) for name in stage_names()))


def list_lines() -> list[str]:
    """``kit stage list``: one line per stage."""
    lines, width = [], _name_width()
    for stage in stages():
        outcomes = {}
        for key, value in stage.expected.items():
            if key != "*":
                outcomes[value.outcome] = outcomes.get(value.outcome, 0) + 1
        default = stage.expected.get("*")
        expect = (", ".join(f"{n} {o}" for o, n in outcomes.items())
                  + (f", others {default.describe()}" if default else "")).strip(", ")
        lines.append(f"{stage.name:<{width}} {stage.step:<4} {stage.title:<34} "
                     f"{'+'.join(suite_of(m) for m in stage.modules):<22} {expect}")
    return lines


def summary_line(result: StageResult) -> str:
    """One line for a finished stage run."""
    verdict = "as expected" if result.as_expected else "UNEXPECTED"
    return (f"{result.stage:<{_name_width()}} {result.step:<4} {result.passed:>3} passed {result.failed:>3} failed "
            f"{result.errors:>3} errors  {result.duration_s:5.1f} s  {verdict}")


def report_lines(result: StageResult) -> list[str]:
    """A stage run for a terminal: its summary, then each test that did not behave as the report says."""
    return [summary_line(result),
            *(f"    {test.nodeid}: {test.mismatch}" for test in result.tests if not test.as_expected),
            *(f"    {key}: expected in stages.toml but did not run" for key in result.missing)]

