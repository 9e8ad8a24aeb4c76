"""kit fix on real suites: every catalogue entry, suites written unlike the catalogue, the reference stages,
the command line's contract, --apply (refusal, interruption, undo) and the records.

Everything runs for real: pytest subprocesses with kit's recorder on the session's embedded PostgreSQL (and its
embedded Redis for the Redis entry), the patch checked by ``git apply --check`` and ``patch -p1 --dry-run`` on a
fresh copy, applied there, and the suite rerun by plain pytest. The suites run once per module, concurrently, in
worker processes; the tests judge what the runs left. Bugs found in kit fix and not fixed yet are strict xfails that
assert the right behaviour.

The per-entry outcome (fixed / unfixed and the patch size in lines) is printed by the last test
(``-rP`` or ``-s`` shows it).
"""

from __future__ import annotations

import ast
import concurrent.futures
import contextlib
import difflib
import hashlib
import json
import multiprocessing
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import REPO, Completed, assert_no_traceback, kit_cli, wait_until

from kit.catalogue.scenario import assemble, catalogue
from kit.db.redis_target import scratch_redis
from kit.db.target import scratch_database
from kit.diagnose import diagnose
from kit.diagnose.repair.apply import BARRIER_ENV, apply_changes
from kit.diagnose.repair.fix import FixResult, fix_suite
from kit.errors import FixError
from kit.reference import assemble_stage

SUITES = Path(__file__).parent / "suites" / "fix"
ENTRIES = [s for s in catalogue() if s.kind == "pytest"]
BY_ID = {s.id: s for s in ENTRIES}
MECHANICAL = [s.id for s in ENTRIES if s.repair.get("mechanical", True)]
DESIGN = [s.id for s in ENTRIES if not s.repair.get("mechanical", True)]
JSON_KEYS = {"suite", "before", "after", "green", "rounds", "unfixed", "patch"}
COUNT_KEYS = {"passed", "failed", "errors"}
EDIT_KEYS = {"file", "line", "cause", "description"}
UNFIXED_KEYS = {"nodeid", "cause", "reason"}  # the contract's; kit may add more (it adds the test's error)
PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
STARTED = time.monotonic()


# -- helpers ------------------------------------------------------------------------------------------------
def tree(path: Path) -> dict[str, str]:
    """Every file under ``path`` (hidden ones too) -> the sha256 of its bytes."""
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() or p.is_symlink()}


def sh(*command: str, cwd: Path, stdin: Path | None = None, env: dict[str, str] | None = None,
       timeout: float = 180) -> Completed:
    with open(stdin) if stdin else contextlib.nullcontext() as feed:
        done = subprocess.run(command, cwd=cwd, stdin=feed, capture_output=True, text=True, timeout=timeout,
                              env=env)
    return Completed(done.returncode, done.stdout, done.stderr)


def plain_env(database_url: str, redis_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


@dataclass
class Checked:
    """A patch put on a fresh copy of the suite: what git and patch said, the files it gave, and plain pytest."""

    git_check: Completed
    patch_check: Completed
    applied: dict[str, str | None] = field(default_factory=dict)  # file -> its text after `git apply`
    pytest: Completed | None = None


def check_patch(fresh: Path, patch: str, changed: dict[str, str | None], target, *, redis: bool,
                run_pytest: bool = True) -> Checked:
    """``git apply --check`` (after ``git init``) and ``patch -p1 --dry-run`` in ``fresh``; then the patch applied
    with git and the suite run by plain pytest on a scratch database (and a scratch Redis when it needs one)."""
    patch_file = fresh.parent / f"{fresh.name}.patch"
    patch_file.write_text(patch)
    init = sh("git", "init", "-q", cwd=fresh)
    assert init.code == 0, init.all
    checked = Checked(sh("git", "apply", "--check", str(patch_file), cwd=fresh),
                      sh("patch", "-p1", "--dry-run", cwd=fresh, stdin=patch_file))
    if checked.git_check.code or checked.patch_check.code:
        return checked
    applied = sh("git", "apply", str(patch_file), cwd=fresh)
    assert applied.code == 0, applied.all
    checked.applied = {rel: (fresh / rel).read_text() if (fresh / rel).is_file() else None for rel in changed}
    if run_pytest:
        with scratch_database(target, f"fixcheck_{fresh.name}") as database, contextlib.ExitStack() as stack:
            redis_url = stack.enter_context(scratch_redis()) if redis else None
            checked.pytest = sh(*PYTEST, cwd=fresh, env=plain_env(database.url, redis_url))
    return checked


Spec = tuple[str, ...]  # how to make a suite, picklable for the worker processes: see make()


def make(spec: Spec, into: Path) -> Path:
    """A suite in ``into``: ("entry", id, variant), ("own", name), ("stage", name), ("crlf",), ("symlinked",) or
    ("leak",)."""
    kind, *rest = spec
    if kind == "entry":
        return assemble(BY_ID[rest[0]], rest[1], into)
    if kind == "own":
        return Path(shutil.copytree(SUITES / rest[0], into, ignore=shutil.ignore_patterns("__pycache__")))
    if kind == "stage":
        return assemble_stage(rest[0], into)
    if kind == "crlf":  # module-engine-per-test-loop's broken variant, its pytest.ini with Windows line endings
        suite = assemble(BY_ID["module-engine-per-test-loop"], "broken", into)
        ini = suite / "pytest.ini"
        ini.write_bytes(ini.read_bytes().replace(b"\n", b"\r\n"))
        return suite
    if kind == "symlinked":  # the same, its pytest.ini a symlink to a file outside the suite (a shared config)
        suite = assemble(BY_ID["module-engine-per-test-loop"], "broken", into)
        shared = into.parent / "shared" / "pytest.ini"
        shared.parent.mkdir(parents=True, exist_ok=True)
        shared.write_bytes((suite / "pytest.ini").read_bytes())
        (suite / "pytest.ini").unlink()
        (suite / "pytest.ini").symlink_to(shared.resolve())
        return suite
    if kind == "mono":  # a service's tests in a subdirectory; the configuration is the repository's, above it
        into.mkdir(parents=True)
        (into / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = session\n"
                                         "asyncio_default_test_loop_scope = session\n")
        service = into / "services" / "billing"
        service.mkdir(parents=True)
        (service / "test_billing.py").write_text("import asyncio\n\n\nasync def test_sleep():\n"
                                                 "    await asyncio.sleep(0)\n\n\nasync def test_again():\n"
                                                 "    await asyncio.sleep(0)\n")
        return service
    if kind == "leak":  # a failure whose message is the database URL, password and all
        into.mkdir(parents=True)
        (into / "test_url.py").write_text("import os\n\n\ndef test_url():\n"
                                          "    raise ValueError(os.environ['DATABASE_URL'])\n")
        return into
    raise ValueError(spec)


@dataclass
class Fixed:
    """One fix_suite run (in a worker process): the result (or the traceback it raised), whether the suite it
    was given stayed byte-identical, the patch's check on a fresh copy."""

    result: FixResult | None = None
    error: str | None = None
    untouched: bool = True
    checked: Checked | None = None
    after: list[tuple[str, str, str]] | None = None  # kit diagnose of the patched copy: (nodeid, cause, error type)
    seconds: float = 0.0

    def ok(self) -> FixResult:
        if self.error is not None:
            raise AssertionError(f"the run raised:\n{self.error}")
        assert self.result is not None
        return self.result


def summary(result: FixResult) -> str:
    return json.dumps(result.as_dict(), indent=1)[:6000]


def fix_job(spec: Spec, root: Path, name: str, target, timeout: float = 120, redis: bool = False,
            verify: str | None = "pytest") -> Fixed:
    """Make the suite, fix_suite it, check the suite it was given is untouched, and put a result's patch on a
    fresh copy (``verify``: "pytest" runs plain pytest there, "diagnose" kit diagnose, None nothing)."""
    out = Fixed()
    started = time.monotonic()
    try:
        suite = make(spec, root / name / "suite")
        before = tree(suite)
        out.result = fix_suite(suite, timeout=timeout)
        out.untouched = tree(suite) == before
        if out.result.patch and verify:
            fresh = make(spec, root / name / "fresh")
            out.checked = check_patch(fresh, out.result.patch, out.result.changed, target, redis=redis,
                                      run_pytest=verify == "pytest")
            if verify == "diagnose" and not (out.checked.git_check.code or out.checked.patch_check.code):
                with scratch_database(target, f"fixdiag_{fresh.parent.name}") as database:
                    diagnosis = diagnose(fresh, database.url, timeout=timeout)
                out.after = [(f.nodeid, f.cause, f.error_type or "") for f in diagnosis.findings]
    except BaseException:  # noqa: BLE001 - reported by the test that reads this run
        out.error = traceback.format_exc()
    out.seconds = time.monotonic() - started
    return out


@dataclass
class CliRun:
    suite: Path
    before: dict[str, str]
    after: dict[str, str]
    result: Completed
    json_text: str = ""
    patch_text: str | None = None


def cli_job(spec: Spec, root: Path, name: str, *extra: str) -> CliRun:
    """``kit fix SUITE --json FILE --patch FILE [extra]`` as a user runs it (``--json -`` in ``extra``: the JSON on
    stdout), the suite hashed before and after."""
    suite = make(spec, root / name / "suite")
    before = tree(suite)
    json_file, patch_file = root / name / "fix.json", root / name / "fix.patch"
    own_json = extra[extra.index("--json") + 1] if "--json" in extra else None
    args = ["fix", str(suite), *([] if own_json else ["--json", str(json_file)]),
            *([] if "--patch" in extra else ["--patch", str(patch_file)]), "--timeout", "120", *extra]
    result = kit_cli(*args)
    return CliRun(suite, before, tree(suite), result,
                  result.out if own_json == "-" else (json_file.read_text() if json_file.exists() else ""),
                  patch_file.read_text() if patch_file.exists() else None)


def diagnose_and_fix_job(spec: Spec, root: Path, name: str) -> tuple[Completed, CliRun]:
    """``kit diagnose SUITE --json -`` and then ``kit fix`` on the same suite."""
    fixed = cli_job(spec, root, name)
    return kit_cli("diagnose", str(fixed.suite), "--json", "-", "--timeout", "120"), fixed


# -- the runs ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def no_inherited_redis():
    """Redis is fix_suite's to hand (a scratch database of kit's embedded Redis): never the caller's REDIS_URL."""
    saved = os.environ.pop("REDIS_URL", None)
    yield
    if saved is not None:
        os.environ["REDIS_URL"] = saved


@pytest.fixture(scope="module")
def runs(target, tmp_path_factory, no_inherited_redis) -> dict[str, object]:
    """Every fix run of this module, concurrently: name -> Fixed (library runs) or CliRun (command lines).

    Worker processes, not threads: with a thread pool, CPython 3.11 raised "SystemError: AST constructor recursion
    depth mismatch" in one of two runs of this module (ast.parse from several threads, python/cpython#106905),
    and kit parses the suites it repairs.
    """
    root = tmp_path_factory.mktemp("fix")
    jobs: dict[str, tuple] = {}
    for scenario in ENTRIES:
        for variant in ("broken", "fixed"):
            name = f"{scenario.id}/{variant}"
            jobs[name] = (fix_job, ("entry", scenario.id, variant), root, name, target, scenario.time_limit(variant),
                          "redis" in scenario.services)
    for suite in ("shop_pkg", "session_factory", "strict_plugin", "two_rounds"):
        jobs[suite] = (fix_job, ("own", suite), root, suite, target)
    for suite in ("needs_own_loops", "expire_elsewhere"):
        jobs[suite] = (fix_job, ("own", suite), root, suite, target, 120, False, None)
    jobs["crlf"] = (fix_job, ("crlf",), root, "crlf", target)
    jobs["symlink"] = (fix_job, ("symlinked",), root, "symlink", target, 120, False, None)
    jobs["stage/simplified"] = (fix_job, ("stage", "simplified"), root, "stage-simplified", target, 120, False,
                                "diagnose")
    jobs["stage/original"] = (fix_job, ("stage", "original"), root, "stage-original", target, 120, False, None)
    jobs["cli/rounds_1"] = (cli_job, ("own", "two_rounds"), root, "cli-rounds-1", "--rounds", "1")
    jobs["cli/green"] = (cli_job, ("own", "green"), root, "cli-green")
    jobs["cli/wrong_assertion"] = (cli_job, ("own", "wrong_assertion"), root, "cli-wrong", "--json", "-")
    jobs["cli/contract"] = (cli_job, ("entry", "module-engine-per-test-loop", "broken"), root, "cli-contract",
                            "--url", target.url)
    jobs["cli/leak"] = (cli_job, ("leak",), root, "cli-leak", "--url", target.url)
    jobs["cli/apply"] = (cli_job, ("own", "session_factory"), root, "cli-apply", "--apply")
    jobs["cli/apply_new_file"] = (cli_job, ("own", "no_config"), root, "cli-apply-new", "--apply")
    jobs["cli/apply_bad_patch_path"] = (cli_job, ("own", "session_factory"), root, "cli-bad-patch", "--apply",
                                        "--patch", "/proc/no-such-dir/fix.patch")
    jobs["cli/bad_json_path"] = (cli_job, ("own", "green"), root, "cli-bad-json", "--json",
                                 "/proc/no-such-dir/fix.json")
    jobs["mono"] = (diagnose_and_fix_job, ("mono",), root, "mono")
    slow_first = sorted(jobs, key=lambda n: not n.startswith(("stage/", "leaked-connection-hang/")))
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=6, mp_context=context) as pool:
        futures = {name: pool.submit(*jobs[name]) for name in slow_first}
        return {name: future.result() for name, future in futures.items()}


TABLE: dict[str, tuple[str, int]] = {}  # entry -> ("fixed" | "unfixed", patch lines)


# -- 1. the catalogue -------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry_id", MECHANICAL)
def test_broken_variant_with_a_mechanical_repair_is_made_green(runs, entry_id):
    run: Fixed = runs[f"{entry_id}/broken"]
    result = run.ok()
    TABLE[entry_id] = ("fixed" if result.green else "unfixed", len(result.patch.splitlines()))
    assert run.untouched, "fix_suite changed the suite it was given"
    assert result.before.failed + result.before.errors > 0 or result.unfixed, summary(result)
    assert result.green and result.after.failed == result.after.errors == 0 and result.after.passed > 0, \
        summary(result)
    assert result.unfixed == [] and result.patch and result.changed, summary(result)
    edits = [e for r in result.rounds for e in r.edits]
    assert edits and {e.cause for e in edits} == {entry_id}, summary(result)
    assert {e.file for e in edits} == set(result.changed), summary(result)
    checked = run.checked
    assert checked is not None
    assert checked.git_check.code == 0, checked.git_check.all + result.patch
    assert checked.patch_check.code == 0, checked.patch_check.all + result.patch
    assert checked.applied == result.changed, "the patch does not give the files kit proved"
    assert checked.pytest is not None and checked.pytest.code == 0, checked.pytest.all + result.patch
    assert re.search(rf"\b{result.after.passed} passed\b", checked.pytest.out), checked.pytest.out


CONFIG_FILES = {"pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "pyproject.toml", "tox.ini", "setup.cfg"}


def _differing(entry_id: str, root: Path) -> set[str]:
    """The files in which the entry's broken and fixed variants differ."""
    broken = assemble(BY_ID[entry_id], "broken", root / "broken")
    fixed = assemble(BY_ID[entry_id], "fixed", root / "fixed")
    return {rel for rel in set(tree(broken)) | set(tree(fixed)) if tree(broken).get(rel) != tree(fixed).get(rel)}


@pytest.mark.parametrize("entry_id", MECHANICAL)
def test_broken_variant_repair_edits_where_the_cause_lives(runs, entry_id, tmp_path):
    """Each edit is in a file the entry's own fix changes, or in the pytest configuration (the loop scopes):
    never in a file both variants share, such as the catalogue's shared scenario_db.py."""
    result = runs[f"{entry_id}/broken"].ok()
    assert result.changed
    elsewhere = set(result.changed) - _differing(entry_id, tmp_path) - CONFIG_FILES
    assert not elsewhere, result.patch


@pytest.mark.parametrize("entry_id", DESIGN)
def test_broken_variant_without_a_mechanical_repair_is_listed_unfixed_with_its_reason(runs, entry_id):
    run: Fixed = runs[f"{entry_id}/broken"]
    result = run.ok()
    TABLE[entry_id] = ("fixed" if result.green else "unfixed", len(result.patch.splitlines()))
    declared = BY_ID[entry_id].repair
    assert declared["mechanical"] is False and declared["reason"].strip()
    assert run.untouched
    assert not result.green, summary(result)
    assert result.patch == "" and result.changed == {}, summary(result)
    assert not [e for r in result.rounds for e in r.edits], summary(result)
    mine = [u for u in result.unfixed if u.cause == entry_id]
    assert mine and all(u.reason == declared["reason"].strip() and u.nodeid for u in mine), summary(result)


@pytest.mark.parametrize("entry_id", [s.id for s in ENTRIES])
def test_fixed_variant_gets_no_edit(runs, entry_id):
    run: Fixed = runs[f"{entry_id}/fixed"]
    result = run.ok()
    assert run.untouched
    assert result.green and result.before == result.after and result.after.passed > 0, summary(result)
    assert result.patch == "" and result.changed == {} and result.unfixed == [], summary(result)
    assert not [e for r in result.rounds for e in r.edits] and not any(r.rolled_back for r in result.rounds)


# -- 2. suites written unlike the catalogue --------------------------------------------------------------
def _own_green(runs, name: str) -> FixResult:
    run: Fixed = runs[name]
    result = run.ok()
    assert run.untouched, "fix_suite changed the suite it was given"
    assert result.before.failed + result.before.errors > 0, summary(result)
    assert result.green and result.after.failed == result.after.errors == 0, summary(result)
    checked = run.checked
    assert checked is not None
    assert checked.git_check.code == 0 and checked.patch_check.code == 0, checked.git_check.all + \
        checked.patch_check.all + result.patch
    assert checked.applied == result.changed
    assert checked.pytest is not None and checked.pytest.code == 0, checked.pytest.all
    assert re.search(rf"\b{result.after.passed} passed\b", checked.pytest.out), checked.pytest.out
    return result


def _diff(old: str, new: str) -> tuple[list[str], list[str]]:
    lines = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    return [line[2:] for line in lines if line.startswith("- ")], [line[2:] for line in lines if line.startswith("+ ")]


def test_package_suite_with_pyproject_only_configuration(runs):
    result = _own_green(runs, "shop_pkg")
    assert set(result.changed) == {"pyproject.toml"}, summary(result)
    assert {e.cause for r in result.rounds for e in r.edits} == {"module-engine-per-test-loop"}
    old = (SUITES / "shop_pkg" / "pyproject.toml").read_text()
    new = result.changed["pyproject.toml"]
    removed, added = _diff(old, new)
    assert all(line.startswith("asyncio_default_") for line in removed + added), (removed, added)
    assert len(removed) == 1 and len(added) == 2, (removed, added)
    # the changed option keeps its odd spacing and its trailing comment; every comment of the file survives
    assert any(re.fullmatch(r"asyncio_default_fixture_loop_scope =    \"session\"   # fixtures too", line)
               for line in added), added
    comments = [line for line in old.splitlines() if "#" in line and not line.startswith("asyncio_default_")]
    assert all(line in new.splitlines() for line in comments)
    options = tomllib.loads(new)["tool"]["pytest"]["ini_options"]
    assert options["asyncio_default_fixture_loop_scope"] == options["asyncio_default_test_loop_scope"] == "session"
    assert tomllib.loads(new)["tool"]["black"] == {"line-length": 100}


def test_package_suite_new_option_sits_inside_its_own_table(runs):
    result = runs["shop_pkg"].ok()
    new = result.changed["pyproject.toml"].splitlines()
    added = new.index('asyncio_default_test_loop_scope = "session"')
    assert added < new.index("# ---- other tools below ----"), "\n".join(new)
    assert new[added + 1] != "[tool.black]", "\n".join(new)


def _call_lines(text: str, callee: str) -> tuple[ast.Call, int, int]:
    [call] = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == callee]
    return call, call.lineno, call.end_lineno or call.lineno


def test_multi_line_sessionmaker_gets_expire_on_commit_and_keeps_its_comments(runs):
    result = _own_green(runs, "session_factory")
    assert set(result.changed) == {"db/session.py"}, summary(result)
    assert {e.cause for r in result.rounds for e in r.edits} == {"expired-attribute-missing-greenlet"}
    old = (SUITES / "session_factory" / "db" / "session.py").read_text()
    new = result.changed["db/session.py"]
    call, first, last = _call_lines(new, "async_sessionmaker")
    assert [(k.arg, getattr(k.value, "value", None)) for k in call.keywords if k.arg == "expire_on_commit"] == \
        [("expire_on_commit", False)]
    _, old_first, old_last = _call_lines(old, "async_sessionmaker")
    old_lines, new_lines = old.splitlines(), new.splitlines()
    assert old_lines[:old_first - 1] == new_lines[:first - 1]  # everything before the call: untouched
    assert old_lines[old_last:] == new_lines[last:]             # and after it
    assert new_lines[last - 1] == ")  # one factory for the whole service"
    assert "    class_=AsyncSession,  # the async flavour, spelled out" in new_lines
    assert [e.line for r in result.rounds for e in r.edits] == [first]


def test_async_fixture_in_a_pytest_plugins_module_gets_pytest_asyncio_decorator(runs):
    result = _own_green(runs, "strict_plugin")
    assert set(result.changed) == {"testing/fixtures.py"}, summary(result)
    assert {e.cause for r in result.rounds for e in r.edits} == {"strict-mode-async-fixture"}
    new = result.changed["testing/fixtures.py"]
    functions = {n.name: n for n in ast.walk(ast.parse(new)) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert ast.unparse(functions["connection"].decorator_list[0]) == "pytest_asyncio.fixture"
    assert ast.unparse(functions["engine"].decorator_list[0]) == "pytest.fixture(scope='session')"
    assert "@pytest_asyncio.fixture  # strict mode: pytest-asyncio does not run this one" in new
    assert re.search(r"^import pytest_asyncio$", new, re.M)


def test_green_suite_exits_zero_with_no_patch(runs):
    run: CliRun = runs["cli/green"]
    assert run.result.code == 0, run.result.all
    assert_no_traceback(run.result.all)
    assert run.after == run.before
    assert "green" in run.result.out.splitlines(), run.result.out
    data = json.loads(run.json_text)
    assert data["green"] is True and data["patch"] == "" and data["rounds"] == [] and data["unfixed"] == []
    assert data["before"] == data["after"] == {"passed": 3, "failed": 0, "errors": 0}
    assert run.patch_text == ""


def test_unexplained_failure_is_left_alone_and_listed_unknown(runs):
    run: CliRun = runs["cli/wrong_assertion"]
    assert run.result.code == 1, run.result.all
    assert_no_traceback(run.result.all)
    assert run.after == run.before
    data = json.loads(run.result.out)  # `--json -`: stdout holds the JSON alone
    assert data["green"] is False and data["patch"] == "" and data["rounds"] == []
    [unfixed] = data["unfixed"]
    assert UNFIXED_KEYS <= set(unfixed), unfixed
    assert (unfixed["nodeid"], unfixed["cause"]) == ("test_pricing.py::test_tax_on_zero", "unknown")
    assert isinstance(unfixed["reason"], str) and unfixed["reason"]
    assert data["before"] == data["after"] == {"passed": 2, "failed": 1, "errors": 0}
    assert "1 findings left" in run.result.err and run.patch_text == ""


def test_repair_that_breaks_a_passing_test_is_rolled_back(runs):
    run: Fixed = runs["needs_own_loops"]
    result = run.ok()
    assert run.untouched
    assert not result.green and result.patch == "" and result.changed == {}, summary(result)
    assert not [e for r in result.rounds for e in r.edits]
    [rolled] = [b for r in result.rounds for b in r.rolled_back]
    assert rolled["cause"] == "module-engine-per-test-loop" and rolled["files"] == ["pytest.ini"]
    assert "test_loops.py::test_every_test_has_its_own_loop" in rolled["reason"], rolled
    assert [(u.cause, u.reason) for u in result.unfixed] == [("module-engine-per-test-loop", rolled["reason"])]
    assert result.after == result.before, summary(result)


def test_repair_that_leaves_its_finding_is_rolled_back(runs):
    run: Fixed = runs["expire_elsewhere"]
    result = run.ok()
    assert run.untouched
    assert not result.green and result.patch == "" and result.changed == {}, summary(result)
    [rolled] = [b for r in result.rounds for b in r.rolled_back]
    assert rolled["cause"] == "expired-attribute-missing-greenlet" and rolled["files"] == ["app.py"]
    assert "remained after the edit" in rolled["reason"], rolled
    assert [(u.nodeid, u.cause) for u in result.unfixed] == [
        ("test_notes.py::test_note_body_after_commit", "expired-attribute-missing-greenlet")]
    assert result.after == result.before, summary(result)


def test_a_cause_behind_another_is_repaired_in_the_next_round(runs):
    result = _own_green(runs, "two_rounds")
    assert [[(e.file, e.cause) for e in r.edits] for r in result.rounds] == [
        [("conftest.py", "strict-mode-async-fixture")], [("models.py", "expired-attribute-missing-greenlet")]]
    assert (result.rounds[0].passed, result.rounds[0].failed) == (2, 1), summary(result)


def test_rounds_option_stops_after_the_first_round(runs):
    run: CliRun = runs["cli/rounds_1"]
    assert run.result.code == 1, run.result.all
    assert run.after == run.before
    data = json.loads(run.json_text)
    assert [[e["cause"] for e in r["edits"]] for r in data["rounds"]] == [["strict-mode-async-fixture"]]
    assert [u["cause"] for u in data["unfixed"]] == ["expired-attribute-missing-greenlet"]
    assert "rounds ran out" in data["unfixed"][0]["reason"]
    assert data["patch"] == run.patch_text and "+@pytest_asyncio.fixture" in data["patch"]
    assert "expire_on_commit" not in data["patch"]


def test_crlf_file_patch_applies(runs):
    run: Fixed = runs["crlf"]
    result = run.ok()
    assert result.green and set(result.changed) == {"pytest.ini"}, summary(result)
    assert run.checked is not None
    assert run.checked.git_check.code == 0, run.checked.git_check.all
    assert run.checked.patch_check.code == 0, run.checked.patch_check.all


def test_crlf_file_keeps_its_line_endings_on_apply(runs, tmp_path):
    result = runs["crlf"].ok()
    suite = make(("crlf",), tmp_path / "suite")
    old = (suite / "pytest.ini").read_bytes()
    apply_changes(suite, result.originals, result.changed, result.patch)
    new = (suite / "pytest.ini").read_bytes()
    assert new != old and new.count(b"\n") == new.count(b"\r\n"), new
    kept = set(old.splitlines(keepends=True)) & set(new.splitlines(keepends=True))
    assert len(kept) == len(old.splitlines()) - 2, (old, new)  # two option lines changed, no other


def test_symlinked_configuration_outside_the_suite_is_not_touched(runs, tmp_path):
    run: Fixed = runs["symlink"]
    suite = Path(run.ok().suite)
    outside = (suite / "pytest.ini").resolve()
    assert not outside.is_relative_to(suite)
    fresh = assemble(BY_ID["module-engine-per-test-loop"], "broken", tmp_path / "fresh")
    assert outside.read_bytes() == (fresh / "pytest.ini").read_bytes(), outside.read_text()
    assert run.untouched


# -- 3. the command line ----------------------------------------------------------------------------------
def test_cli_json_contract_and_exit_code(runs):
    run: CliRun = runs["cli/contract"]
    assert run.result.code == 0, run.result.all
    assert_no_traceback(run.result.all)
    data = json.loads(run.json_text)
    assert set(data) == JSON_KEYS
    assert data["suite"] == str(run.suite.resolve())
    for counts in (data["before"], data["after"]):
        assert set(counts) == COUNT_KEYS and all(isinstance(v, int) for v in counts.values())
    assert data["before"]["failed"] + data["before"]["errors"] > 0
    assert data["after"]["failed"] == data["after"]["errors"] == 0 and data["green"] is True
    assert data["rounds"] and data["unfixed"] == []
    for round_ in data["rounds"]:
        assert {"edits"} | COUNT_KEYS <= set(round_)
        assert all(isinstance(round_[k], int) for k in COUNT_KEYS)
        for edit in round_["edits"]:
            assert set(edit) == EDIT_KEYS
            assert isinstance(edit["line"], int) and edit["line"] >= 1 and edit["cause"] and edit["description"]
            assert (run.suite / edit["file"]).is_file()
    assert data["rounds"][-1]["passed"] == data["after"]["passed"]
    assert data["patch"] == run.patch_text and data["patch"].startswith("diff --git a/")
    assert run.result.out.splitlines()[-1] == "green", run.result.out  # the verdict last, after the patch line
    assert any(line.startswith("patch: ") for line in run.result.out.splitlines())
    assert re.search(r"^round 1: \d+ passed, 0 failed, 0 errors$", run.result.out, re.M), run.result.out


def test_cli_leaves_the_suite_byte_identical_and_shows_no_password(runs, target):
    run: CliRun = runs["cli/contract"]
    assert run.after == run.before, "kit fix without --apply touched the suite"
    assert target.password
    records = (Path(os.environ["KIT_DATA_DIR"]) / "runs.jsonl").read_text()
    for text in (run.result.out, run.result.err, run.json_text, run.patch_text or "", records):
        assert target.password not in text
    assert "***" in run.result.out  # the --url is shown, masked


def test_cli_masks_the_password_a_failing_test_shows(runs, target):
    run: CliRun = runs["cli/leak"]
    assert run.result.code == 1, run.result.all
    assert_no_traceback(run.result.all)
    data = json.loads(run.json_text)
    [unfixed] = data["unfixed"]
    assert unfixed["cause"] == "unknown" and unfixed["nodeid"] == "test_url.py::test_url"
    for text in (run.result.out, run.result.err, run.json_text, run.patch_text or ""):
        assert target.password not in text
    assert "***" in json.dumps(unfixed) or "postgresql" not in json.dumps(unfixed)


def _bad_input(run_kit, *where: str) -> tuple[Completed, Completed]:
    return run_kit("fix", *where), run_kit("diagnose", *where)


def _paragraph(err: str) -> list[str]:
    """stderr without kit fix's progress lines: what should be the one paragraph."""
    return [line for line in err.splitlines() if line.strip() and not line.startswith("kit fix: ")]


def _make_bad(kind: str, root: Path) -> Path:
    if kind == "missing":
        return root / "nowhere"
    if kind == "file":
        (root / "test_x.py").write_text("def test_x():\n    pass\n")
        return root / "test_x.py"
    project = root / kind
    project.mkdir()
    if kind == "no-tests":
        (project / "notes.md").write_text("# just notes\n")
        (project / "tool.py").write_text("print('hello')\n")
    else:
        (project / "conftest.py").write_text("import pytest\n\n\ndef broken(:\n    pass\n")
        (project / "test_a.py").write_text("def test_a():\n    assert True\n")
    return project


BAD = {"missing": "There is no directory", "file": "is a file", "no-tests": "found no tests",
       "conftest-syntax": "SyntaxError"}


@pytest.mark.faults
@pytest.mark.parametrize("kind", list(BAD))
def test_cli_bad_input_is_one_paragraph_and_exit_2(run_kit, tmp_path, kind):
    where = _make_bad(kind, tmp_path)
    before = tree(tmp_path)
    fixed, diagnosed = _bad_input(run_kit, str(where))
    assert fixed.code == 2 == diagnosed.code, fixed.all
    assert_no_traceback(fixed.all)
    [paragraph] = _paragraph(fixed.err)
    assert paragraph.startswith("kit: ") and BAD[kind] in paragraph, fixed.err
    if kind == "conftest-syntax":
        assert "conftest.py" in paragraph and "line 4" in paragraph
    assert fixed.out == "" and tree(tmp_path) == before
    if kind in ("missing", "file"):  # the suite never ran: word for word what kit diagnose says
        assert _paragraph(fixed.err) == _paragraph(diagnosed.err)


@pytest.mark.faults
@pytest.mark.parametrize("kind", ["no-tests", "conftest-syntax"])
def test_cli_suite_that_cannot_run_says_what_diagnose_says(run_kit, tmp_path, kind):
    where = _make_bad(kind, tmp_path)
    fixed, diagnosed = _bad_input(run_kit, str(where))
    assert str(where) in "\n".join(_paragraph(fixed.err)), fixed.err
    assert _paragraph(fixed.err) == _paragraph(diagnosed.err)


# -- 4. --apply -------------------------------------------------------------------------------------------
def _backups() -> Path:
    return Path(os.environ["KIT_STATE_DIR"]) / "fix-backups"


def _backup_of(suite: Path) -> Path:
    [backup] = [d for d in _backups().iterdir() if (d / "suite.txt").read_text().strip() == str(suite.resolve())]
    return backup


def test_apply_writes_keeps_the_originals_and_prints_an_undo_that_works(runs, tmp_path):
    run: CliRun = runs["cli/apply"]
    assert run.result.code == 0, run.result.all
    assert_no_traceback(run.result.all)
    original = SUITES / "session_factory"
    changed = {rel for rel in run.before if run.after.get(rel) != run.before[rel]} | (set(run.after) - set(run.before))
    assert changed == {"db/session.py"}, changed
    # the file now holds exactly what the printed patch gives a fresh copy
    fresh = make(("own", "session_factory"), tmp_path / "fresh")
    assert run.patch_text
    (tmp_path / "fix.patch").write_text(run.patch_text)
    assert sh("patch", "-p1", cwd=fresh, stdin=tmp_path / "fix.patch").code == 0
    assert tree(fresh) == run.after
    # the original is kept under kit's state directory
    backup = _backup_of(run.suite)
    assert backup.is_relative_to(Path(os.environ["KIT_STATE_DIR"]))
    assert (backup / "files" / "db" / "session.py").read_bytes() == (original / "db" / "session.py").read_bytes()
    assert (backup / "fix.patch").read_text() == run.patch_text
    # the printed undo command restores every byte
    [line] = [line for line in run.result.out.splitlines() if line.startswith("applied to ")]
    assert f"the originals are in {backup}/files" in line
    undo = line.split("To undo: ", 1)[1]
    assert undo == (f"patch -R -p1 -d {shlex.quote(str(run.suite.resolve()))} < "
                    f"{shlex.quote(str(backup / 'fix.patch'))}")
    done = subprocess.run(undo, shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree(run.suite) == run.before


def test_apply_of_a_new_file_and_its_undo(runs, tmp_path):
    run: CliRun = runs["cli/apply_new_file"]
    assert run.result.code == 0, run.result.all
    assert_no_traceback(run.result.all)
    assert set(run.after) - set(run.before) == {"pytest.ini"}
    assert {rel: run.after[rel] for rel in run.before} == run.before
    ini = (run.suite / "pytest.ini").read_text()
    assert "asyncio_default_test_loop_scope = session" in ini
    assert run.patch_text and "--- /dev/null" in run.patch_text and "+++ b/pytest.ini" in run.patch_text
    fresh = make(("own", "no_config"), tmp_path / "fresh")
    (tmp_path / "fix.patch").write_text(run.patch_text)
    assert sh("git", "init", "-q", cwd=fresh).code == 0
    checked = sh("git", "apply", "--check", str(tmp_path / "fix.patch"), cwd=fresh)
    assert checked.code == 0, checked.all
    dry = sh("patch", "-p1", "--dry-run", cwd=fresh, stdin=tmp_path / "fix.patch")
    assert dry.code == 0, dry.all
    [line] = [line for line in run.result.out.splitlines() if line.startswith("applied to ")]
    undone = subprocess.run(line.split("To undo: ", 1)[1], shell=True, capture_output=True, text=True, timeout=60)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert tree(run.suite) == run.before


def test_apply_writes_nothing_when_the_patch_cannot_be_written(runs):
    run: CliRun = runs["cli/apply_bad_patch_path"]
    assert run.result.code == 2, run.result.all
    assert_no_traceback(run.result.all)
    [paragraph] = _paragraph(run.result.err)
    assert "/proc/no-such-dir/fix.patch" in paragraph and "nothing was changed" in paragraph
    assert run.after == run.before


def test_unwritable_json_path_is_one_paragraph(runs):
    run: CliRun = runs["cli/bad_json_path"]
    assert_no_traceback(run.result.all)
    assert run.result.code == 2, run.result.all
    [paragraph] = _paragraph(run.result.err)
    assert "/proc/no-such-dir/fix.json" in paragraph


def test_suite_configured_by_its_parent_is_refused_with_the_directory_to_pass(runs):
    """kit fix repairs a copy of PATH alone; a monorepo service configured by its parent would run differently
    there, so kit says which directory to pass (and runs nothing) instead of repairing a suite it did not see."""
    diagnosed, fixed = runs["mono"]
    assert diagnosed.code == 0, diagnosed.all
    assert fixed.result.code == 2, fixed.result.all
    [paragraph] = _paragraph(fixed.result.err)
    assert "is configured by" in paragraph and "run `kit fix" in paragraph, paragraph
    assert fixed.after == fixed.before


def test_apply_refuses_when_a_file_changed_meanwhile(tmp_path):
    suite = tmp_path / "suite"
    (suite / "sub").mkdir(parents=True)
    (suite / "a.py").write_text("alpha = 1\n")
    (suite / "sub" / "b.ini").write_text("[pytest]\nasyncio_mode = auto  ; the user edited this meanwhile\n")
    before = tree(suite)
    backups = set(_backups().iterdir()) if _backups().exists() else set()
    originals = {"a.py": "alpha = 1\n", "sub/b.ini": "[pytest]\nasyncio_mode = auto\n", "c.py": None}
    changed = {"a.py": "alpha = 2\n", "sub/b.ini": "[pytest]\nasyncio_mode = strict\n", "c.py": "new = 1\n"}
    with pytest.raises(FixError) as raised:
        apply_changes(suite, originals, changed, "a patch\n")
    message = str(raised.value)
    assert message.startswith(f"sub/b.ini changed in {suite}") and "\n" not in message, message
    assert tree(suite) == before, "apply_changes wrote although a file had changed"
    assert not list(suite.rglob("*.kit-fix"))
    assert (set(_backups().iterdir()) if _backups().exists() else set()) == backups
    # a file the patch would create that the user created meanwhile counts too
    (suite / "c.py").write_text("mine = 1\n")
    before = tree(suite)
    with pytest.raises(FixError, match="c.py"):
        apply_changes(suite, {"c.py": None}, {"c.py": "new = 1\n"}, "a patch\n")
    assert tree(suite) == before


def test_apply_changes_keeps_each_file_mode_and_its_original(tmp_path):
    suite = tmp_path / "suite"
    (suite / "bin").mkdir(parents=True)
    (suite / "bin" / "run.py").write_text("#!/usr/bin/env python\nprint(1)\n")
    (suite / "bin" / "run.py").chmod(0o750)
    (suite / "pytest.ini").write_text("[pytest]\n")
    originals = {"bin/run.py": "#!/usr/bin/env python\nprint(1)\n", "pytest.ini": "[pytest]\n"}
    changed = {"bin/run.py": "#!/usr/bin/env python\nprint(2)\n", "pytest.ini": "[pytest]\nasyncio_mode = auto\n"}
    backup = apply_changes(suite, originals, changed, "the patch\n")
    assert {rel: (suite / rel).read_text() for rel in changed} == changed
    assert (suite / "bin" / "run.py").stat().st_mode & 0o7777 == 0o750
    assert {rel: (backup / "files" / rel).read_text() for rel in originals} == originals
    assert (backup / "fix.patch").read_text() == "the patch\n"
    assert backup.is_relative_to(Path(os.environ["KIT_STATE_DIR"]))
    assert not [p for p in suite.rglob("*") if p.name.endswith(".kit-fix")]


def test_interrupted_apply_leaves_each_file_wholly_old_or_new(tmp_path):
    scenario = BY_ID["legacy-event-loop-override"]
    suite = assemble(scenario, "broken", tmp_path / "suite")
    originals = {rel: (suite / rel).read_text() for rel in ("pytest.ini", "tests/conftest.py")}
    barrier = tmp_path / "barrier"
    env = {**os.environ, BARRIER_ENV: str(barrier)}
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "kit", "fix", str(suite), "--apply", "--timeout", "120"],
                                   cwd=REPO, env=env, stdout=out, stderr=err)
        try:
            # kit names the file it waits to write in the barrier (non-empty once written: no half-read)
            wait_until(lambda: (barrier.exists() and barrier.read_text()) or process.poll() is not None, 180,
                       "kit fix --apply to write its first file and wait at the barrier")
            assert process.poll() is None, (tmp_path / "out").read_text() + (tmp_path / "err").read_text()
            process.kill()
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
    assert process.returncode == -9
    waiting_for = barrier.read_text()
    assert waiting_for == "tests/conftest.py"
    backup = _backup_of(suite)
    for rel, text in originals.items():  # every original was kept before the first write
        assert (backup / "files" / rel).read_text() == text
    fresh = assemble(scenario, "broken", tmp_path / "fresh")
    assert sh("patch", "-p1", cwd=fresh, stdin=backup / "fix.patch").code == 0
    new = {rel: (fresh / rel).read_text() for rel in originals}
    assert all(new[rel] != originals[rel] for rel in originals)
    now = {rel: (suite / rel).read_text() for rel in originals}
    for rel in originals:
        assert now[rel] in (originals[rel], new[rel]), f"{rel} is neither its old nor its new text"
    assert now["pytest.ini"] == new["pytest.ini"] and now["tests/conftest.py"] == originals["tests/conftest.py"]
    assert not [p for p in suite.rglob("*") if p.name.endswith(".kit-fix")]
    # the way back was printed before the first write, and it works from this half-applied state
    [said] = [line for line in (tmp_path / "err").read_text().splitlines() if "if this is interrupted" in line]
    restore = said.split("`")[1]
    done = subprocess.run(restore, shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {rel: (suite / rel).read_text() for rel in originals} == originals


# -- 5. the reference API's stages -----------------------------------------------------------------------
LOOP_CAUSES = {s.id for s in ENTRIES} - {"unknown"}


def test_simplified_stage_loses_every_loop_conflict(runs):
    run: Fixed = runs["stage/simplified"]
    result = run.ok()
    assert run.untouched
    assert result.before.failed + result.before.errors > result.after.failed + result.after.errors
    edits = [e for r in result.rounds for e in r.edits]
    assert edits and all(e.cause in LOOP_CAUSES for e in edits), summary(result)
    assert {e.file for e in edits} <= {"pytest.ini", "conftest.py"}, "an edit for the unexplained failures"
    assert result.unfixed and all(u.cause == "unknown" for u in result.unfixed), summary(result)
    assert result.after.failed == 0 and result.after.errors == len(result.unfixed), summary(result)
    checked = run.checked
    assert checked is not None and checked.git_check.code == 0 and checked.patch_check.code == 0
    after = run.after  # kit diagnose on a fresh copy with the patch applied
    assert after, summary(result)
    assert all(cause == "unknown" and error.endswith("FixtureLookupError") for _, cause, error in after), after
    assert {nodeid for nodeid, _, _ in after} == {u.nodeid for u in result.unfixed}


def test_original_stage_from_22_errors_to_one_unknown_failure(runs):
    run: Fixed = runs["stage/original"]
    result = run.ok()
    assert run.untouched
    assert (result.before.passed, result.before.failed, result.before.errors) == (0, 0, 22), summary(result)
    assert result.after.passed == 21 and result.after.failed + result.after.errors <= 1, summary(result)
    assert len(result.unfixed) == result.after.failed + result.after.errors
    assert all(u.cause == "unknown" for u in result.unfixed), summary(result)
    assert all(e.cause in LOOP_CAUSES for r in result.rounds for e in r.edits)


# -- 6. records -------------------------------------------------------------------------------------------
def test_fix_run_is_recorded_with_its_rounds_and_edits(runs):
    from kit.run.records import load_records

    run: CliRun = runs["cli/contract"]
    frame = load_records(Path(os.environ["KIT_DATA_DIR"]) / "runs.jsonl", kind="fix")
    mine = frame[frame["subject"] == str(run.suite.resolve())]
    assert len(mine) == 1, frame[["subject", "outcome"]]
    record = mine.iloc[0]
    assert record["outcome"] == "passed"
    details = record["details"]
    data = json.loads(run.json_text)
    assert details["rounds"] == data["rounds"] and details["unfixed"] == data["unfixed"]
    assert details["before"] == data["before"] and details["after"] == data["after"] and details["green"] is True
    assert details["patch_lines"] == len(data["patch"].splitlines())
    assert any(edit["cause"] == "module-engine-per-test-loop" for r in details["rounds"] for edit in r["edits"])


# -- the table for the closing note -----------------------------------------------------------------------
def test_zz_print_the_per_entry_table(runs):
    for entry_id in [s.id for s in ENTRIES]:
        if entry_id not in TABLE:
            result = runs[f"{entry_id}/broken"].ok()
            TABLE[entry_id] = ("fixed" if result.green else "unfixed", len(result.patch.splitlines()))
    width = max(map(len, TABLE))
    print(f"\n{'entry':{width}}  outcome  patch lines")
    for entry_id in [s.id for s in ENTRIES]:
        outcome, lines = TABLE[entry_id]
        print(f"{entry_id:{width}}  {outcome:7}  {lines}")
    print(f"module time so far: {time.monotonic() - STARTED:.0f} s; slowest runs:")
    timed = sorted(((run.seconds, name) for name, run in runs.items() if isinstance(run, Fixed)), reverse=True)
    for seconds, name in timed[:5]:
        print(f"  {seconds:5.1f} s  {name}")
    assert {e for e, (outcome, _) in TABLE.items() if outcome == "unfixed"} == set(DESIGN)
