"""Precision on the shapes real suites have: what kit says must be what the run showed, and nothing on a green suite.

The suites under ``tests/suites/precision/`` are written like real projects, unlike the catalogue: a session-scoped
engine fixture with ``loop_scope="session"`` and tests on their own loops, an AnyIO suite with an import-time
engine, a pytest plugin tested with ``pytester``, a library testing its own rollback, a real leak, engines never
disposed. Each is diagnosed once (concurrently) on its own scratch database, and compared with plain pytest.
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
from pathlib import Path

import pytest
from conftest import diagnosis_counts, plain_pytest_counts

from kit.db.target import scratch_database
from kit.diagnose import diagnose
from kit.diagnose.model import Diagnosis, root_groups
from kit.diagnose.render import render_text

SUITES = Path(__file__).parent / "suites" / "precision"
# A variant holds only the files that differ from the suite it is based on (like a catalogue entry's variants).
BASED_ON = {"session_engine_eager_schema": "session_engine_function_tests"}
ARGS = {"undisposed_engines_dev": ("-W", "default::ResourceWarning")}


@pytest.fixture(scope="module")
def diagnosed(target, tmp_path_factory) -> dict[str, tuple[Diagnosis, dict[str, int], Path]]:
    root = tmp_path_factory.mktemp("precision")

    def one(name: str):
        path = root / name
        if name in BASED_ON:
            shutil.copytree(SUITES / BASED_ON[name], path)
        shutil.copytree(SUITES / name, path, dirs_exist_ok=True)
        args = ARGS.get(name, ())
        with scratch_database(target, f"prec_{name}"[:24]) as database:
            plain = plain_pytest_counts(path, {"DATABASE_URL": database.url}, args)
        with scratch_database(target, f"prec_{name}"[:24]) as database:
            return diagnose(path, database.url, args=args, timeout=180), plain, path

    names = sorted(d.name for d in SUITES.iterdir() if d.is_dir())
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(one, name) for name in names}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", sorted(d.name for d in SUITES.iterdir() if d.is_dir()))
def test_counts_are_pytests(diagnosed, name):
    diagnosis, plain, _ = diagnosed[name]
    assert diagnosis_counts(diagnosis) == plain, render_text(diagnosis)


@pytest.mark.parametrize("name", ["session_engine_function_tests", "session_engine_eager_schema"])
def test_a_session_engine_fixture_is_named_where_it_was_made(diagnosed, name):
    """Nothing was created at import: the evidence must follow the engine to its fixture, not guess."""
    diagnosis, _, _ = diagnosed[name]
    text = render_text(diagnosis)
    assert [r.cause for r in diagnosis.roots] == ["mixed-loop-scopes"], text
    evidence = " ".join(diagnosis.roots[0].evidence)
    assert "made by fixture 'engine' (session scope)" in evidence, evidence
    assert "import" not in evidence, evidence
    assert diagnosis.roots[0].confidence == "high" and "pool" in diagnosis.roots[0].basis


def test_an_anyio_suite_gets_anyio_fixes_and_no_pytest_asyncio_advice(diagnosed):
    diagnosis, _, _ = diagnosed["anyio_no_dispose"]
    text = render_text(diagnosis)
    assert [r.cause for r in diagnosis.roots] == ["anyio-runner-loop"], text
    assert diagnosis.config["runners"] == {"anyio": 4}
    for finding in diagnosis.findings:
        assert "AnyIO" in finding.fix and "asyncio_default_test_loop_scope" not in finding.fix, finding.fix
    assert not [a for a in diagnosis.advice if a.package == "pytest-asyncio"], text
    assert "made at import" in " ".join(diagnosis.roots[0].evidence) or "before any test" in " ".join(
        diagnosis.roots[0].evidence), text


def test_pytester_inner_sessions_are_not_recorded(diagnosed):
    diagnosis, _, path = diagnosed["pytester_with_failures"]
    ids = {c.nodeid for c in diagnosis.run.cases}
    assert ids and all(i.startswith("tests/test_owners.py::") for i in ids), ids
    groups = root_groups(diagnosis)
    assert len(groups) == len(diagnosis.roots) == 4, render_text(diagnosis)  # four different errors, none folded


def test_a_library_testing_its_own_rollback_is_green(diagnosed):
    diagnosis, _, _ = diagnosed["sync_session_rollback_green"]
    assert diagnosis.findings == [], render_text(diagnosis)
    assert not [a for a in diagnosis.advice if a.severity == "broken-now"], render_text(diagnosis)


def test_rows_that_really_leaked_are_found(diagnosed):
    diagnosis, _, _ = diagnosed["leaky_rollback_commits_after"]
    text = render_text(diagnosis)
    root = diagnosis.roots[0]
    assert [r.cause for r in diagnosis.roots] == ["rollback-isolation-leak"], text
    assert root.nodeid.endswith("test_repeated_delivery_is_answered_and_audited"), text
    assert any("write statement(s) were committed" in line for line in root.evidence), root.evidence
    assert root.message and "deassociated" in root.message, text  # the warning it raised, not an empty SAWarning
    assert [f.cause for f in diagnosis.findings if f.secondary] == ["rollback-isolation-leak"], text
    assert not [a for a in diagnosis.advice if a.severity == "broken-now"], text


def test_undisposed_engines_are_a_note_not_a_failure(diagnosed, run_kit, tmp_path):
    diagnosis, _, path = diagnosed["undisposed_engines_dev"]
    assert diagnosis.findings == [], render_text(diagnosis)
    assert [n.kind for n in diagnosis.notes] == ["undisposed-connections"], render_text(diagnosis)
    assert "NOTE  undisposed-connections (not a failure)" in render_text(diagnosis)
    # through the command line: exit 0, and the note in the JSON document
    result = run_kit("diagnose", str(path), "--json", str(tmp_path / "d.json"), "--html", str(tmp_path / "d.html"),
                     "--", "-W", "default::ResourceWarning")
    assert result.code == 0, result.all
    data = json.loads((tmp_path / "d.json").read_text())
    assert data["findings"] == [] and data["notes"][0]["kind"] == "undisposed-connections"
    assert "<h3>Notes</h3>" in (tmp_path / "d.html").read_text()


def test_a_testclient_per_test_with_an_import_time_engine_is_the_engine_not_the_client(diagnosed):
    """Every `with TestClient(app)` runs the app on its own portal loop; the import-time pooled engine outlives
    them all. AsyncClient + ASGITransport (testclient-loop's fix) would not help: the pool is the cause."""
    diagnosis, _, _ = diagnosed["testclient_per_test_engine"]
    text = render_text(diagnosis)
    assert [r.cause for r in diagnosis.roots] == ["testclient-per-test-pooled-engine"], text
    root = diagnosis.roots[0]
    assert any("another TestClient's portal loop" in line for line in root.evidence), root.evidence
    assert diagnosis.config["runners"] == {"sync": 3}
    assert "NullPool" in root.fix and "lifespan" in root.fix, root.fix
    # AsyncClient is no fix here: at most the last resort for async code beside the TestClient
    assert "ASGITransport" not in root.fix or root.fix.index("dispose()") < root.fix.index("ASGITransport"), root.fix


def test_a_session_carried_across_loops_is_named_from_the_held_connection(diagnosed):
    """No pool checkout ever crosses a loop here (the session holds its NullPool connection), and the first error
    is only "another operation is in progress": the held connection the recorder saw names the cause, and the
    pool entries' fixes (NullPool, dispose: already in place) are not proposed."""
    diagnosis, _, _ = diagnosed["session_carried_across_loops"]
    text = render_text(diagnosis)
    assert [r.cause for r in diagnosis.roots] == ["session-carried-across-loops"], text
    assert {f.cause for f in diagnosis.findings} == {"session-carried-across-loops"}, text
    first = diagnosis.roots[0]
    assert first.nodeid.endswith("test_second_query"), text
    held = next(line for line in first.evidence if "without being checked out again" in line)
    assert held.startswith("an asyncpg connection "), held  # the object named: its driver, from the recorder
    assert first.confidence == "high" and "pool" in first.basis
    assert "NullPool" not in first.fix.split(".")[0], first.fix
