"""A new user's first hour: Ctrl-C that stops kit, a wrong password caught before any work, a notebook that
never runs a suite in kit's shared database, pure JSON on ``--json -``, help, parameters, quiet reports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, assert_no_traceback, gone_or_zombie, kit_cli, leftover_processes, wait_until

from kit.common.aio import run_sync
from kit.db.target import Target, connect
from kit.reference import assemble_stage

SUITES = Path(__file__).parent / "suites"


def _bad_password(target: Target) -> str:
    return target.url.replace(f":{target.password}@", ":wrong-password@")


def _interruptible(*args: str) -> subprocess.Popen:
    """``kit ARGS`` as a terminal starts it: SIGINT at its default (a shell's background job ignores it)."""
    return subprocess.Popen([sys.executable, "-m", "kit", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=os.environ.copy(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _interrupt_when(process: subprocess.Popen, ready, what: str, timeout: float = 120) -> str:
    """Read the output until ``ready(lines)``, then Ctrl-C; return all the output."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        lines.append(line)
        if ready(lines):
            break
        assert time.monotonic() < deadline, f"never saw {what}: {''.join(lines)}"
    else:  # the output ended: kit finished before it was ready to be interrupted
        raise AssertionError(f"kit exited before {what}: {''.join(lines)}")
    return "".join(lines) + _interrupt(process)


def _interrupt(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)  # kit must be gone within seconds, not finish its work
    return rest


def _pytest_in(directory: Path) -> str | None:
    """The pid of a pytest process of this kit running in ``directory``."""
    for pid in _kit_processes("pytest"):
        try:
            if os.readlink(f"/proc/{pid}/cwd") == str(directory):
                return pid
        except OSError:
            continue
    return None


def _kit_processes(marker: str) -> list[str]:
    return leftover_processes(os.environ["KIT_DATA_DIR"], marker)


# -- 1. Ctrl-C --------------------------------------------------------------------------------------------
@pytest.mark.faults
@pytest.mark.slow
def test_ctrl_c_stops_investigate_kills_its_kernels_and_keeps_the_previous_reports(target, tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "index.html").write_text("the previous complete set")
    for _attempt in range(3):  # under a loaded CI both notebooks may end before the interrupt lands: try again
        process = _interruptible("investigate", "--out", str(out), "03", "06")
        output = _interrupt_when(process, lambda lines: sum(line.startswith("  started ") for line in lines) == 2
                                 and wait_until(lambda: _kit_processes("ipykernel"), 60, "a running kernel"),
                                 "both notebooks started")
        if "stopped 0 running process group(s)" not in output:
            break
        wait_until(lambda: not _kit_processes("ipykernel"), 15, "the finished notebooks' kernels to end")
    assert process.returncode == 130, output
    assert "interrupted" in output and "... ok" not in output, output
    assert_no_traceback(output)
    wait_until(lambda: not _kit_processes("ipykernel") and not _kit_processes("kit-run-"), 15,
               "the kernels and their pytest runs to end")
    assert (out / "index.html").read_text() == "the previous complete set"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["index.html"]


@pytest.mark.faults
def test_ctrl_c_stops_a_scenarios_run_and_its_pytest_runs(target):
    process = _interruptible("scenarios", "run", "leaked-connection-hang", "module-engine-per-test-loop",
                             "--variant", "broken", "--jobs", "2")
    wait_until(lambda: _kit_processes("kit-leaked-connection-hang"), 120, "the hang entry's pytest run")
    output = _interrupt(process)
    assert process.returncode == 130, output
    wait_until(lambda: not _kit_processes("kit-leaked-connection-hang"), 15, "the hung run to be killed")


@pytest.mark.faults
def test_ctrl_c_stops_diagnose_and_its_suite(target, tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (tmp_path / "test_slow.py").write_text("import asyncio\n\n\nasync def test_waits():\n"
                                           "    await asyncio.Event().wait()\n")
    process = _interruptible("diagnose", str(tmp_path), "--timeout", "300")
    pid = wait_until(lambda: _pytest_in(tmp_path), 120, "the suite's pytest")
    output = _interrupt(process)
    assert process.returncode == 130, output
    wait_until(lambda: gone_or_zombie(pid), 15, "the suite's pytest to end")


# -- 2, 3. a wrong password, however it arrives -------------------------------------------------------------
@pytest.mark.faults
@pytest.mark.parametrize("how", ["--url", "DATABASE_URL"])
def test_a_wrong_password_is_one_paragraph_before_investigate_writes_anything(target, tmp_path, how):
    bad = _bad_password(target)
    out = tmp_path / "reports"
    args, env = (["--url", bad], None) if how == "--url" else ([], {"DATABASE_URL": bad})
    result = kit_cli("investigate", "--out", str(out), *args, "01", "03", env=env, timeout=120)
    assert result.code == 2, result.all
    assert result.err.count("authentication failed") == 1 and "started" not in result.out, result.all
    assert not out.exists()
    assert "wrong-password" not in result.all


@pytest.mark.faults
@pytest.mark.parametrize("how", ["--url", "DATABASE_URL"])
def test_a_wrong_password_is_the_same_paragraph_for_diagnose(target, tmp_path, how):
    suite = assemble_stage("simplified", tmp_path / "suite")
    bad = _bad_password(target)
    args, env = (["--url", bad], None) if how == "--url" else ([], {"DATABASE_URL": bad})
    result = kit_cli("diagnose", str(suite), *args, env=env, timeout=120)
    assert result.code == 2, result.all
    assert "authentication failed" in result.err and "went away" not in result.all, result.all
    assert "unknown" not in result.out
    assert_no_traceback(result.all)


# -- 4. a notebook's own DATABASE_URL is not the user's ------------------------------------------------------
def _tables(target: Target) -> list[str]:
    async def query() -> list[str]:
        conn = await connect(target)
        try:
            return [r[0] for r in await conn.fetch("select tablename from pg_tables where schemaname = 'public'")]
        finally:
            await conn.close()

    return run_sync(query())


@pytest.mark.slow
def test_notebook_07_diagnoses_in_a_scratch_database_not_in_kits_own(target, investigation):
    """The investigation ran notebook 07 (the reference API's `simplified` stage creates tables) against the
    embedded server, with DATABASE_URL exported by the notebook's setup(): kit_test must stay untouched."""
    assert "07_diagnose_your_suite ... ok" in investigation.result.out, investigation.result.all
    assert not {"users", "businesses", "offers", "coaching_sessions", "goals"} & set(_tables(target))


def test_kits_own_export_is_not_the_users_choice(monkeypatch):
    from kit.db.target import export_own_database_url, user_database_url

    for name in ("DATABASE_URL", "KIT_OWN_DATABASE_URL", "KIT_USER_DATABASE_URL"):
        monkeypatch.setenv(name, "")  # so that monkeypatch restores all three: the export writes them
        monkeypatch.delenv(name)
    export_own_database_url("postgresql://kit:x@127.0.0.1:1/kit_test")
    assert user_database_url() is None and os.environ["DATABASE_URL"].endswith("/kit_test")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:y@db:5432/app_test")
    assert user_database_url() == "postgresql://app:y@db:5432/app_test"
    export_own_database_url("postgresql://app:y@db:5432/kit_test_scratch")
    assert user_database_url() == "postgresql://app:y@db:5432/app_test"  # still the user's, behind kit's own


# -- 5. quiet, path-free reports ------------------------------------------------------------------------------
@pytest.mark.slow
def test_reports_have_no_config_warnings_and_no_local_paths(investigation):
    venv = str(Path(sys.prefix).resolve())
    for page in sorted(investigation.out.glob("*.html")):
        text = page.read_text(errors="replace")
        # kit's own pytest options (the checkout's pyproject) never leak into a notebook's inline tests; notebook
        # 08 still quotes "Unknown config option: asyncio_..." as what old pytest-asyncio releases said: data.
        assert "Unknown config option: timeout" not in text, page.name
        assert venv not in text and "site-packages" not in text, page.name


def test_inline_tests_use_kits_own_pytest_configuration(tmp_path):
    """The options ipytest cells get: kit's notebook.ini, not the checkout's pyproject (whose `timeout` option
    warns when pytest-timeout is not installed)."""
    from kit.notebook import IPYTEST_ADDOPTS

    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\nnot_a_known_option = 1\n")
    (tmp_path / "test_x.py").write_text("import asyncio\n\n\nasync def test_x():\n    await asyncio.sleep(0)\n")
    run = subprocess.run([sys.executable, "-m", "pytest", *IPYTEST_ADDOPTS, "test_x.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Unknown config option" not in run.stdout + run.stderr


# -- 9. --json - ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["scenarios", "run", "strict-mode-async-fixture", "--variant", "fixed", "--json", "-"],
    ["stage", "run", "auth", "--json", "-"],
    ["scenarios", "list", "--json"],
    ["stage", "list", "--json"],
    ["probe", "--repeat", "2", "--json"],
], ids=lambda args: " ".join(args[:2]))
def test_json_on_stdout_is_pure_json(target, args):
    result = kit_cli(*args, timeout=300)
    assert result.code == 0, result.all
    json.loads(result.out)


def test_diagnose_json_on_stdout_is_pure_json(target):
    result = kit_cli("diagnose", str(SUITES / "shop_session_gather"), "--json", "-", timeout=300)
    assert result.code == 1, result.all
    document = json.loads(result.out)
    assert document["findings"] and "kit diagnose:" in result.err


# -- 10. help --------------------------------------------------------------------------------------------------
def test_help_version_and_bare_kit():
    from kit import __version__

    version = kit_cli("--version")
    assert version.code == 0 and version.out.strip() == f"kit {__version__}"
    bare = kit_cli()
    assert bare.code == 0 and all(name in bare.out for name in ("investigate", "diagnose", "matrix", "db"))
    db = kit_cli("db", "--help")
    assert all(re.search(rf"^\s+{action}\s+\S", db.out, re.M) for action in ("start", "status", "stop", "url"))
    for command in ("db", "probe", "investigate", "scenarios", "stage", "diagnose", "matrix"):
        text = kit_cli(command, "--help").out
        assert "examples:" in text and f"kit {command}" in text.split("examples:")[1], command
    run_help = kit_cli("scenarios", "run", "--help").out
    assert "broken" in run_help.split("--variant")[-1] and "(must show the symptom)" in run_help


def test_a_stopped_server_is_restarted_with_a_line_that_says_so(tmp_path):
    from kit.db.embedded import EmbeddedServer

    own = {"KIT_STATE_DIR": str(tmp_path / "state"), "KIT_DATA_DIR": str(tmp_path / "data")}  # not the session's
    try:
        assert kit_cli("db", "start", env=own).code == 0
        kit_cli("db", "stop", env=own)
        probe = kit_cli("probe", "--repeat", "1", env=own)
        assert probe.code == 0, probe.all
        assert "starting the embedded PostgreSQL" in probe.err
        again = kit_cli("probe", "--repeat", "1", env=own)
        assert "starting the embedded PostgreSQL" not in again.err
    finally:
        EmbeddedServer(tmp_path / "state").stop()


# -- 11. parameters ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_investigate_runs_notebook_07_on_the_users_suite(target, tmp_path):
    out = tmp_path / "reports"
    suite = SUITES / "shop_session_gather"
    result = kit_cli("investigate", "07_diagnose_your_suite", "-p", f"SUITE={suite}", "--out", str(out),
                     timeout=600)
    assert result.code == 0, result.all
    page = (out / "07_diagnose_your_suite.html").read_text()
    assert "shop_session_gather" in page and "shared-session-gather" in page


def test_unknown_parameters_are_one_paragraph(target, tmp_path):
    result = kit_cli("investigate", "01", "-p", "NOPE=1", "--out", str(tmp_path / "r"))
    assert result.code == 2 and "has no parameter NOPE" in result.err, result.all
    malformed = kit_cli("investigate", "07", "-p", "SUITE", "--out", str(tmp_path / "r"))
    assert malformed.code == 2 and "-p NAME=VALUE" in malformed.err


def test_reports_name_files_not_where_a_virtualenv_lives():
    from kit.common.text import hide_local_paths

    text = (f"{sys.prefix}/lib/python3.11/site-packages/pytest_asyncio/plugin.py:561: def event_loop "
            f"{sys.base_prefix}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/asyncio/base_events.py:180 "
            "/home/me/.venvs/app/lib/python3.12/site-packages/sqlalchemy/pool/base.py")
    shown = hide_local_paths(text)
    assert "site-packages" not in shown and sys.prefix not in shown and sys.base_prefix not in shown, shown
    assert "[packages]/pytest_asyncio/plugin.py:561" in shown and "[python]/asyncio/base_events.py:180" in shown
    assert "[packages]/sqlalchemy/pool/base.py" in shown


@pytest.mark.parametrize("width", range(60, 140, 7))
def test_a_message_cut_for_a_table_cell_never_ends_inside_a_local_path(width):
    """A message cut to a table cell's width (the investigation's "message" columns) is shortened first: a cut
    that fell inside ``/ci/.venv/lib/python3.11/site-packages/...`` left a fragment the report's scrub missed."""
    from kit.common.text import one_line
    from kit.notebook import scenario_table

    message = (f"Task <Task pending name='Task-9' coro=<TestRunner._run_tests() running at {sys.prefix}/lib/python"
               f"{sys.version_info[0]}.{sys.version_info[1]}/site-packages/anyio/_backends/_asyncio.py:2190> "
               "got Future attached to a different loop")
    for cell in (one_line(message, width), one_line(message.replace(sys.prefix, "/elsewhere/.venv"), width)):
        assert len(cell) <= width and sys.prefix not in cell and "site-packages" not in cell, cell
        assert "/.ve" not in cell and "/lib/pyth" not in cell.replace("[venv]/lib/python", ""), cell
    row = type("Row", (), {"scenario": "e", "variant": "broken", "driver": "asyncpg", "outcome": "error",
                           "reproduced": True, "tests_passed": 0, "tests_failed": 0, "tests_errored": 1,
                           "first_error_type": "RuntimeError", "first_error_message": message, "duration_s": 1.0})
    assert sys.prefix not in scenario_table([row()])["message"][0]


def test_tables_in_notebooks_escape_what_they_show():
    import pandas as pd

    from kit.notebook import frame_html

    html = frame_html(pd.DataFrame({"message": ["Task <Task pending coro=<test_x()>> got Future"]}))
    assert "&lt;Task pending" in html and "<Task" not in html and 'class="dataframe"' in html
