"""kit matrix and the upgrade advisor, on real environments built from the package registry.

Environments are cached in ``$KIT_ENV_CACHE`` (default here: ``~/.cache/kit-test-envs``), shared by every test
session and by CI runs on the same machine: the first session builds two environments (about 15-30 s each),
later ones reuse them. The failed-install test asks the registry for a version that does not exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import assert_no_traceback

LEGACY = "legacy-event-loop-override"
SA = "2.0.58"


@pytest.fixture(scope="module")
def env_cache():
    saved = os.environ.get("KIT_ENV_CACHE")
    path = Path(saved or Path.home() / ".cache" / "kit-test-envs").expanduser()
    os.environ["KIT_ENV_CACHE"] = str(path)
    yield path
    if saved is None:
        os.environ.pop("KIT_ENV_CACHE", None)


@pytest.fixture(scope="module")
def legacy_run(env_cache, target):
    """The legacy event_loop override's broken variant on 0.21.2 and 1.5.0 (recorded like any run)."""
    from kit.catalogue.matrix import run_matrix

    lines: list[str] = []
    run = run_matrix([LEGACY], target, ("0.21.2", "1.5.0"), (SA,), variants=("broken",), progress=lines.append)
    return run, lines


def _cell(run, pytest_asyncio):
    return next(c for c in run.cells if c.pytest_asyncio == pytest_asyncio)


def test_environment_from_the_registry_shows_the_legacy_cliff(legacy_run, env_cache):
    run, lines = legacy_run
    old, new = _cell(run, "0.21.2"), _cell(run, "1.5.0")
    # the same files: the override gives one loop on 0.21, and 1.x silently ignores it
    assert old.outcome == "passed" and old.tests_passed >= 2, old
    assert new.outcome == "failed" and new.first_error_type.endswith("RuntimeError"), new
    assert "attached to a different loop" in new.first_error_message
    assert old.expected == "passed" and new.expected == "symptom"
    assert old.as_declared and new.as_declared and run.ok
    env = next(e for e in run.envs if e.pytest_asyncio == "0.21.2")
    assert env.path.parent == env_cache and (env.path / "kit-env.json").is_file()
    assert env.versions["pytest-asyncio"] == "0.21.2" and env.versions["sqlalchemy"] == SA
    assert env.versions["pytest"].startswith("8.3.")        # pytest-asyncio < 1.0 needs pytest < 9
    assert old.versions["pytest"].startswith("8.3.") and new.versions["pytest"].split(".")[0] == "9"
    assert any(line.startswith("env ") for line in lines) and sum(line.startswith("[") for line in lines) == 2


def test_matrix_cells_are_recorded(legacy_run):
    from kit.catalogue.cells import load_matrix_cells
    from kit.run.records import load_records

    run, _ = legacy_run
    frame = load_records(kind="matrix")
    assert set(frame[frame["run_id"] == run.run_id]["subject"]) == {LEGACY}
    back = load_matrix_cells(run.run_id)
    assert sorted((c.pytest_asyncio, c.outcome, c.as_declared) for c in back) == \
        sorted((c.pytest_asyncio, c.outcome, c.as_declared) for c in run.cells)


def test_cached_environments_are_reused(legacy_run, target):
    from kit.catalogue.envs import ensure_env
    from kit.catalogue.matrix import run_matrix

    run, _ = legacy_run
    before = {e.key: (e.path / "kit-env.json").stat().st_mtime_ns for e in run.envs}
    again = [ensure_env(e.pytest_asyncio, e.sqlalchemy) for e in run.envs]
    assert not any(e.built for e in again) and all(e.error is None for e in again)
    second = run_matrix([LEGACY], target, ("1.5.0",), (SA,), variants=("broken",), progress=lambda line: None,
                        record=False)
    assert second.envs_built == 0 and "reused" not in (second.envs[0].error or "")
    assert second.cells[0].outcome == "failed" and second.cells[0].as_declared
    assert {e.key: (e.path / "kit-env.json").stat().st_mtime_ns for e in run.envs} == before


def test_a_failed_install_is_an_error_cell_not_a_crash(env_cache, target):
    from kit.catalogue.matrix import run_matrix

    lines: list[str] = []
    run = run_matrix([LEGACY], target, ("0.0.999",), (SA,), progress=lines.append, record=False)
    assert [c.outcome for c in run.cells] == ["error", "error"] and not run.ok
    cell = run.cells[0]
    assert cell.first_error_type == "EnvironmentBuildError" and not cell.as_declared
    assert "0.0.999" in cell.first_error_message and "pip index versions" in cell.first_error_message
    assert not run.envs[0].path.exists(), "a failed environment must not be left half-built"
    assert any("FAILED" in line for line in lines)


def test_cli_failed_install_and_bad_input(env_cache, run_kit):
    env = {"KIT_ENV_CACHE": str(env_cache)}
    bad = run_kit("matrix", LEGACY, "--pytest-asyncio", "not-a-version", env=env, timeout=120)
    assert bad.code == 2 and "not a version number" in bad.err
    assert_no_traceback(bad.all)
    failed = run_kit("matrix", LEGACY, "--pytest-asyncio", "0.0.999", "--sqlalchemy", SA, "--json", "-", env=env,
                     timeout=300)
    assert failed.code == 1, failed.all
    assert_no_traceback(failed.all)
    assert '"first_error_type": "EnvironmentBuildError"' in failed.out and "FAILED" in failed.err


def test_half_built_environment_is_rebuilt(env_cache, monkeypatch, tmp_path):
    """A directory without the marker is never used: it is removed and built again (here the build fails fast)."""
    from kit.catalogue import envs

    monkeypatch.setenv("KIT_ENV_CACHE", str(tmp_path))
    requirements = envs.requirements_for("0.0.998", SA)
    leftover = tmp_path / envs._key("0.0.998", SA, requirements)
    (leftover / "bin").mkdir(parents=True)
    (leftover / "bin" / "python").write_text("not a python")
    env = envs.ensure_env("0.0.998", SA)
    assert env.error and not env.built and not leftover.exists()


def test_cells_are_read_without_the_environment_builder():
    """The advisor reads stored cells through kit.catalogue.cells: that must not import the builder."""
    import subprocess
    import sys

    code = ("import sys\nfrom kit.catalogue.cells import load_matrix_cells\n"
            "print(sorted(m for m in sys.modules if m.startswith('kit.catalogue')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "kit.catalogue.envs" not in done.stdout and "kit.catalogue.matrix" not in done.stdout, done.stdout


def test_judge_rules_for_declared_versions():
    from kit.catalogue.judge import as_declared, expected_for, versions_match
    from kit.catalogue.scenario import get_scenario

    assert versions_match(["pytest-asyncio<1.0"], {"pytest-asyncio": "0.21.2"})
    assert versions_match("pytest_asyncio>=1.0 and sqlalchemy<2.1", {"pytest-asyncio": "1.5.0", "sqlalchemy": SA})
    assert not versions_match(["pytest-asyncio>=1.0 and sqlalchemy<2.1"], {"pytest-asyncio": "1.5.0"})
    assert not versions_match(None, {"pytest-asyncio": "1.5.0"})
    legacy = get_scenario(LEGACY)
    assert expected_for(legacy, "broken", {"pytest-asyncio": "0.21.2"})[0] == "passed"
    assert expected_for(legacy, "broken", {"pytest-asyncio": "1.5.0"}) == ("symptom", None)
    # "passed" means passed with at least one test; "fails" any failing outcome; "symptom" what the run showed
    assert as_declared("passed", "passed", False, 2) and not as_declared("passed", "passed", True, 0)
    assert as_declared("fails", "timeout", False, 0) and not as_declared("fails", "passed", False, 3)
    assert as_declared("symptom", "failed", True, 0) and not as_declared("symptom", "failed", False, 0)


# -- the upgrade advisor on small conftest samples ---------------------------------------------------------
def _suite(tmp_path: Path, conftest: str, ini: str = "[pytest]\nasyncio_mode = auto\n") -> Path:
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "pytest.ini").write_text(ini)
    return tmp_path


LEGACY_CONFTEST = '''import asyncio
import pytest


@pytest.fixture(scope="session")
def event_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()
'''

CELLS = [
    {"scenario": LEGACY, "variant": "broken", "pytest_asyncio": "0.21.2", "sqlalchemy": SA, "outcome": "passed",
     "first_error_type": None, "first_error_message": None, "duration_s": 1.0},
    {"scenario": LEGACY, "variant": "broken", "pytest_asyncio": "1.5.0", "sqlalchemy": SA, "outcome": "failed",
     "first_error_type": "RuntimeError", "first_error_message": "Task got Future attached to a different loop",
     "duration_s": 1.0},
]


def test_advisor_legacy_override_breaks_on_1x(tmp_path):
    from kit.diagnose.advisor import advise, render_advice

    suite = _suite(tmp_path, LEGACY_CONFTEST)
    advice = advise(suite, {"asyncio_mode": "auto"}, {"pytest-asyncio": "0.21.2", "sqlalchemy": SA}, CELLS)
    legacy = next(a for a in advice if a.rule == LEGACY)
    assert legacy.severity == "breaks-on-upgrade" and legacy.breaks_on == "pytest-asyncio 1.0.0"
    assert legacy.where == ["conftest.py:6"] and legacy.measured
    assert legacy.evidence[0].startswith(f"{LEGACY}/broken @ pytest-asyncio 0.21.2") and "passed" in legacy.evidence[0]
    assert "1.5.0" in legacy.evidence[1] and "RuntimeError" in legacy.evidence[1]
    assert "breaks on: pytest-asyncio 1.0.0" in render_advice(advice)
    now = advise(suite, {"asyncio_mode": "auto"}, {"pytest-asyncio": "1.5.0"}, [])
    assert next(a for a in now if a.rule == LEGACY).severity == "broken-now"


def test_advisor_loop_scope_and_ini_options_before_their_release(tmp_path):
    from kit.diagnose.advisor import advise

    suite = _suite(tmp_path, '''import pytest_asyncio


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine():
    yield object()
''', "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = session\n"
     "asyncio_default_test_loop_scope = session\n")
    old = {a.rule: a for a in advise(suite, None, {"pytest-asyncio": "0.23.8"}, [])}
    assert old["loop-scope-needs-0.24"].severity == "broken-now"
    assert old["loop-scope-needs-0.24"].where == ["conftest.py:5"]
    assert old["ini-loop-scope-ignored"].severity == "broken-now"
    assert not advise(suite, None, {"pytest-asyncio": "1.5.0"}, [])


def test_advisor_session_fixture_and_default_fixture_loop_scope(tmp_path):
    from kit.diagnose.advisor import advise

    suite = _suite(tmp_path, '''import pytest_asyncio


@pytest_asyncio.fixture(scope="session")
async def schema():
    yield
''')
    unset = {a.rule: a for a in advise(suite, {"asyncio_mode": "auto", "asyncio_default_fixture_loop_scope": None},
                                       {"pytest-asyncio": "1.5.0"}, [])}
    assert unset["fixture-loop-scope-mismatch"].severity == "deprecated"
    function = {a.rule: a for a in advise(suite, {"asyncio_mode": "auto", "asyncio_default_fixture_loop_scope":
                                                  "function"}, {"pytest-asyncio": "1.5.0"}, [])}
    assert function["fixture-loop-scope-mismatch"].severity == "broken-now"
    older = {a.rule: a for a in advise(suite, {"asyncio_mode": "auto"}, {"pytest-asyncio": "0.21.2"}, [])}
    assert older["session-engine-function-loop"].breaks_on == "pytest-asyncio 0.23.8"


def test_advisor_httpx_app_and_expire_on_commit(tmp_path):
    from kit.diagnose.advisor import advise

    suite = _suite(tmp_path, '''import pytest_asyncio
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import async_sessionmaker

Session = async_sessionmaker(engine)


@pytest_asyncio.fixture
async def client():
    async with AsyncClient(app=app, base_url="http://test") as c:
        yield c
''')
    advice = {a.rule: a for a in advise(suite, {"asyncio_mode": "auto"}, {"httpx": "0.27.2"}, [])}
    assert advice["asgi-client-lifespan"].severity == "breaks-on-upgrade"
    assert advice["asgi-client-lifespan"].breaks_on == "httpx 0.28.0"
    assert advice["expired-attribute-missing-greenlet"].where == ["conftest.py:5"]
    assert not advice["expired-attribute-missing-greenlet"].measured
