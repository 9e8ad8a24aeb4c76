"""kit diagnose on real suites: every catalogue entry (broken and fixed), two realistic projects, bad input.

Everything runs for real: pytest subprocesses with kit's recorder against the session's embedded PostgreSQL,
each suite in its own scratch database. The suites run in a thread pool, once per module.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import assert_no_traceback

from kit.catalogue.scenario import assemble, catalogue
from kit.db.redis_target import scratch_redis
from kit.db.target import scratch_database
from kit.diagnose import Diagnosis, Finding, classify, diagnose, render_text
from kit.reference import assemble_stage
from kit.reference.suite import stages
from kit.run.runner import CaseResult, PytestRun

SUITES = Path(__file__).parent / "suites"
ENTRIES = [s for s in catalogue() if s.kind == "pytest"]
STAGES = stages()
XDIST = "-n 2"  # the runs under pytest-xdist: `kit diagnose PATH -- -n 2`
FIXED_SHOP_INI = """[pytest]
testpaths = tests
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""


@pytest.fixture(scope="module")
def diagnosed(target, tmp_path_factory) -> dict[str, Diagnosis]:
    """Every catalogue variant and every sample suite, diagnosed in parallel: name -> Diagnosis."""
    root = tmp_path_factory.mktemp("diagnose")
    work: dict[str, tuple[Path, float]] = {}
    for scenario in ENTRIES:
        for variant in ("broken", "fixed"):
            work[f"{scenario.id}/{variant}"] = (assemble(scenario, variant, root / scenario.id / variant),
                                                scenario.time_limit(variant))
    for suite in ("shop_module_engine", "shop_session_gather"):
        work[suite] = (Path(shutil.copytree(SUITES / suite, root / suite)), 120)
    fixed_shop = Path(shutil.copytree(SUITES / "shop_module_engine", root / "shop_module_engine_fixed"))
    (fixed_shop / "pytest.ini").write_text(FIXED_SHOP_INI)
    work["shop_module_engine_fixed"] = (fixed_shop, 120)

    needs_redis = {f"{s.id}/{v}" for s in ENTRIES if "redis" in s.services for v in ("broken", "fixed", XDIST)}
    # under pytest-xdist: every broken variant, and every reference stage serially and under xdist
    for scenario in ENTRIES:
        # xdist's workers take seconds to start on a loaded machine: a hang entry's short limit would kill the run
        # before its hang
        work[f"{scenario.id}/{XDIST}"] = (assemble(scenario, "broken", root / scenario.id / "xdist"),
                                          max(60.0, scenario.time_limit("broken") * 3))
    for stage in STAGES:
        for mode in ("serial", XDIST):
            work[f"stage:{stage.name}/{mode}"] = (assemble_stage(stage.name, root / "stages" / stage.name / mode), 240)
            needs_redis |= {f"stage:{stage.name}/{mode}"} if "redis" in stage.services else set()

    def one(name: str) -> Diagnosis:
        path, timeout = work[name]
        with scratch_database(target, name.replace("/", "_").replace(":", "_")[:24]) as database, \
                contextlib.ExitStack() as services:
            env = {"REDIS_URL": services.enter_context(scratch_redis())} if name in needs_redis else None
            args = ("-n", "2") if name.endswith(XDIST) else ()
            return diagnose(path, database.url, args=args, timeout=timeout, env=env)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = {name: pool.submit(one, name) for name in work}
        return {name: future.result() for name, future in futures.items()}


def _summary(diagnosis: Diagnosis) -> str:
    return "\n".join(f"{f.nodeid} [{f.phase}] {f.cause} secondary={f.secondary} {f.error_type}: "
                     f"{(f.message or '')[:120]}" for f in diagnosis.findings) + "\n" + render_text(diagnosis)


@pytest.mark.parametrize("entry", [s.id for s in ENTRIES])
def test_broken_variant_is_diagnosed_as_its_entry(diagnosed, entry):
    diagnosis = diagnosed[f"{entry}/broken"]
    roots = diagnosis.roots
    assert roots and roots[0].cause == entry, _summary(diagnosis)
    assert {f.cause for f in diagnosis.findings} == {entry}, _summary(diagnosis)
    root_ids = {r.nodeid for r in roots}
    for finding in diagnosis.findings:
        assert finding.fix and finding.evidence, finding
        if finding.secondary:
            assert finding.root in root_ids, _summary(diagnosis)


@pytest.mark.parametrize("entry", [s.id for s in ENTRIES])
def test_fixed_variant_has_no_findings(diagnosed, entry):
    diagnosis = diagnosed[f"{entry}/fixed"]
    assert diagnosis.passed > 0 and diagnosis.failed == diagnosis.errors == 0
    assert diagnosis.findings == [], _summary(diagnosis)


def _causes_by_test(diagnosis: Diagnosis) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in diagnosis.findings:
        found.setdefault(finding.nodeid, set()).add(finding.cause)
    return found


def _xdist_keeps_the_causes(serial: Diagnosis, xdist: Diagnosis, added: frozenset[str] = frozenset()) -> None:
    """The same root causes under ``-n 2`` as serially, though tests land on other workers: every cause of the
    xdist run is one the serial run showed (or in ``added``: a conflict xdist itself brings), and every serial
    cause shows again unless xdist's scheduling kept every test that showed it from failing. An ``unknown`` is
    allowed only on a test that passed serially: two tests on two workers at once expose an order dependence."""
    text = _summary(serial) + "\n--- under -n 2 ---\n" + _summary(xdist)
    serial_causes = {f.cause for f in serial.findings}
    passed_serially = {c.nodeid for c in serial.run.cases if c.outcome == "passed"}
    for nodeid, causes in _causes_by_test(xdist).items():
        for cause in causes:
            assert cause in serial_causes | added or (cause == "unknown" and nodeid in passed_serially), text
    xdist_failed = {c.nodeid for c in xdist.run.cases if c.outcome in ("failed", "error", "timeout")}
    xdist_causes = _causes_by_test(xdist)
    for nodeid, causes in _causes_by_test(serial).items():
        if nodeid in xdist_failed and not xdist_causes.get(nodeid, set()) & added:  # not failed earlier by xdist's own
            assert causes & ({f.cause for f in xdist.findings} | {"unknown"}), text
    assert sorted(xdist.run.config.get("workers") or []) == ["gw0", "gw1"], text
    assert all(loop.startswith(("gw0:", "gw1:")) for c in xdist.run.cases for loops in c.loops.values()
               for loop in loops), text


@pytest.mark.parametrize("entry", [s.id for s in ENTRIES])
def test_a_broken_variant_under_xdist_has_the_serial_causes(diagnosed, entry):
    _xdist_keeps_the_causes(diagnosed[f"{entry}/broken"], diagnosed[f"{entry}/{XDIST}"])


@pytest.mark.parametrize("stage", [s.name for s in STAGES])
def test_a_reference_stage_under_xdist_has_the_serial_causes_and_the_shared_schema(diagnosed, stage):
    """Every stage builds its tables in a session fixture on one database: under xdist each worker rebuilds them
    under the other, a conflict of its own that kit names from the two workers' schema events."""
    serial, xdist = diagnosed[f"stage:{stage}/serial"], diagnosed[f"stage:{stage}/{XDIST}"]
    _xdist_keeps_the_causes(serial, xdist, added=frozenset({"xdist-shared-schema"}))
    assert "xdist-shared-schema" not in {f.cause for f in serial.findings}, _summary(serial)
    shared = [f for f in xdist.findings if f.cause == "xdist-shared-schema"]
    assert shared and all("schema" in f.basis for f in shared), _summary(xdist)


def test_fallout_is_secondary_and_points_to_its_root(diagnosed):
    loops = diagnosed["module-engine-per-test-loop/broken"]
    [root] = loops.roots
    assert root.nodeid.endswith("test_register_bob") and "different loop" in (root.message or "")
    busy = [f for f in loops.findings if f.secondary]
    assert busy and all(f.root == root.nodeid and "another operation is in progress" in (f.message or "")
                        for f in busy)
    assert any("opened on" in line and "checked out on" in line for line in root.evidence)
    strict = diagnosed["strict-mode-async-fixture/broken"]
    bare = [f for f in strict.findings if f.secondary]
    assert bare and bare[0].error_type == "AssertionError" and bare[0].root == strict.roots[0].nodeid
    leak = diagnosed["rollback-isolation-leak/broken"]
    assert leak.roots[0].nodeid.endswith("test_duplicate_email_is_rejected")
    assert len([f for f in leak.findings if f.secondary]) == 2


def test_loop_entries_are_told_apart_by_evidence(diagnosed):
    session = diagnosed["session-engine-function-loop/broken"].roots[0]
    assert any("fixture 'engine' (session scope)" in line for line in session.evidence)
    assert any("asyncio_default_fixture_loop_scope=unset" in line for line in session.evidence)
    legacy = diagnosed["legacy-event-loop-override/broken"].roots[0]
    assert any("tests/conftest.py:" in line and "event_loop" in line for line in legacy.evidence)
    client = diagnosed["testclient-loop/broken"].roots[0]
    assert any("thread" in line for line in client.evidence)
    hang = diagnosed["leaked-connection-hang/broken"].roots[0]
    assert hang.error_type == "timeout" and hang.phase == "teardown"
    assert any("conftest.py:" in line for line in hang.evidence)


def test_realistic_module_engine_shop(diagnosed):
    shop = diagnosed["shop_module_engine"]
    assert [r.cause for r in shop.roots] == ["module-engine-per-test-loop"], _summary(shop)
    assert len([f for f in shop.findings if f.secondary]) >= 2
    assert all(f.cause == "module-engine-per-test-loop" for f in shop.findings)
    fixed = diagnosed["shop_module_engine_fixed"]
    assert fixed.failed == fixed.errors == 0 and fixed.passed == 5 and fixed.findings == [], _summary(fixed)


def test_realistic_gather_shop(diagnosed):
    shop = diagnosed["shop_session_gather"]
    assert {f.cause for f in shop.findings} == {"shared-session-gather"}, _summary(shop)
    silent = [f for f in shop.findings if f.error_type is None]
    failed = [f for f in shop.findings if f.error_type is not None]
    assert silent and any("two tasks at once" in line for line in silent[0].evidence)
    assert [f.nodeid for f in failed] == ["tests/test_stock.py::test_receive_shipment"], _summary(shop)
    assert not any(f.nodeid.endswith("test_single_lookup") for f in shop.findings)


# -- the command line ---------------------------------------------------------------------------------
def test_cli_json_and_html(run_kit, tmp_path):
    scenario = next(s for s in ENTRIES if s.id == "module-engine-per-test-loop")
    project = assemble(scenario, "broken", tmp_path / "suite")
    result = run_kit("diagnose", str(project), "--json", str(tmp_path / "d.json"), "--html", str(tmp_path / "d.html"),
                     "--timeout", "120")
    assert result.code == 1, result.all
    assert "module-engine-per-test-loop" in result.out and "fix:" in result.out and "secondary" in result.out
    data = json.loads((tmp_path / "d.json").read_text())
    assert set(data) == {"suite", "passed", "failed", "errors", "config", "findings", "advice", "notes"}
    assert (data["passed"], data["failed"], data["errors"]) == (1, 2, 0)
    keys = {"nodeid", "phase", "cause", "secondary", "error_type", "message", "evidence", "fix", "basis", "confidence"}
    for finding in data["findings"]:
        assert set(finding) - {"root"} == keys
        assert finding["confidence"] in ("high", "medium", "low") and finding["basis"]
    page = (tmp_path / "d.html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page and "<link" not in page
    assert "http://" not in page.replace("http://test", "") and "src='http" not in page


def test_cli_passing_suite_exits_zero(run_kit, tmp_path):
    scenario = next(s for s in ENTRIES if s.id == "mixed-loop-scopes")
    project = assemble(scenario, "fixed", tmp_path / "suite")
    result = run_kit("diagnose", str(project), "--json", "-", "--", "-k", "test_add_user or test_starts_empty")
    assert result.code == 0, result.all
    assert '"findings": []' in result.out and '"passed": 2' in result.out


@pytest.mark.faults
def test_cli_missing_path(run_kit, tmp_path):
    result = run_kit("diagnose", str(tmp_path / "nowhere"))
    assert result.code == 2 and "There is no directory" in result.err
    assert_no_traceback(result.all)


@pytest.mark.faults
def test_cli_not_a_pytest_project(run_kit, tmp_path):
    (tmp_path / "notes.md").write_text("# just notes\n")
    (tmp_path / "tool.py").write_text("print('hello')\n")
    result = run_kit("diagnose", str(tmp_path))
    assert result.code == 2 and "found no tests" in result.err, result.all
    assert_no_traceback(result.all)


@pytest.mark.faults
def test_cli_conftest_syntax_error(run_kit, tmp_path):
    (tmp_path / "conftest.py").write_text("import pytest\n\n\ndef broken(:\n    pass\n")
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert True\n")
    result = run_kit("diagnose", str(tmp_path))
    assert result.code == 2, result.all
    assert "conftest.py" in result.err and "line 4" in result.err and "SyntaxError" in result.err
    assert_no_traceback(result.all)


@pytest.mark.faults
def test_cli_test_module_syntax_error(run_kit, tmp_path):
    (tmp_path / "test_b.py").write_text("def test_b(:\n    pass\n")
    result = run_kit("diagnose", str(tmp_path))
    assert result.code == 2 and "test_b.py" in result.err and "line 1" in result.err, result.all
    assert_no_traceback(result.all)


@pytest.mark.faults
def test_cli_hanging_suite_gives_a_timeout_finding(run_kit, tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n"
                                         "asyncio_default_fixture_loop_scope = function\n")
    (tmp_path / "test_slow.py").write_text("import asyncio\n\n\nasync def test_waits_forever():\n"
                                           "    await asyncio.Event().wait()\n")
    result = run_kit("diagnose", str(tmp_path), "--timeout", "6", "--json", str(tmp_path / "d.json"))
    assert result.code == 1, result.all
    [finding] = json.loads((tmp_path / "d.json").read_text())["findings"]
    assert finding["cause"] == "unknown" and finding["error_type"] == "timeout" and finding["phase"] == "call"
    assert any("test_slow.py:5 in test_waits_forever" in line for line in finding["evidence"]), finding
    assert_no_traceback(result.all)


def test_cli_a_run_killed_before_any_test_says_so(run_kit, tmp_path):
    """A conftest that hangs at import: nothing ran, which must not read as a clean bill of health."""
    (tmp_path / "conftest.py").write_text("import threading\n\nthreading.Event().wait()  # a service never up\n")
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert True\n")
    result = run_kit("diagnose", str(tmp_path), "--timeout", "6", "--json", str(tmp_path / "d.json"))
    report = json.loads((tmp_path / "d.json").read_text())
    assert [n["kind"] for n in report["notes"]] == ["killed-before-tests"], result.all
    assert "before any test was seen running" in result.out and "--timeout" in result.out, result.all
    assert_no_traceback(result.all)


# -- classification rules on synthetic runs ----------------------------------------------------------
def _run(cases, events=(), config=None) -> PytestRun:
    return PytestRun("failed", 1, list(cases), list(events), config or {}, 1.0, "")


def test_unexplained_failure_stays_unknown():
    case = CaseResult("test_x.py::test_x", "failed", "call", "ZeroDivisionError", "division by zero",
                      frames=["test_x.py:3 in test_x"], errors=[{"phase": "call", "type": "ZeroDivisionError",
                                                                  "message": "division by zero"}])
    [finding] = classify(_run([case])).findings
    assert finding.cause == "unknown" and not finding.secondary and finding.error_type == "ZeroDivisionError"
    assert any("division by zero" in line for line in finding.evidence)


def test_passing_run_has_no_findings():
    cases = [CaseResult(f"test_a.py::test_{i}", loops={"call": ["L1"]}) for i in range(3)]
    assert classify(_run(cases)).findings == []


@pytest.mark.faults
def test_html_escapes_everything(tmp_path):
    from kit.diagnose.html import render_html

    evil = "<script>alert(1)</script>"
    case = CaseResult(f"test_a.py::test_{evil}", "failed", "call", "ValueError", evil,
                      loops={"call": ["L1"]}, errors=[{"phase": "call", "type": "ValueError", "message": evil}])
    finding = Finding(case.nodeid, "call", "unknown", False, "ValueError", evil, [evil], "fix " + evil)
    page = render_html(Diagnosis("/tmp/" + evil, 0, 1, 0, {"asyncio_mode": evil}, [finding], _run([case])))
    assert "<script" not in page and "&lt;script&gt;" in page


def test_notebook_is_thin_and_committed_without_outputs():
    import nbformat

    notebook = nbformat.read(Path(__file__).parent.parent / "notebooks" / "07_diagnose_your_suite.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert any("run_diagnosis(" in c.source for c in code) and any("timeline(" in c.source for c in code)
