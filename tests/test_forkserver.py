"""Warm (forked) pytest runs behave like cold ones: same arguments, directory, environment, outcomes, exit
codes, timeouts and clean-up; only the pre-imported libraries differ."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import gone_or_zombie, wait_until

from kit.run import forkserver
from kit.run.runner import run_pytest

PROBE_TEST = '''
import json, os, sys
FASTAPI_BEFORE_THE_TEST_MODULE = "fastapi" in sys.modules

def test_reports_where_it_runs():
    with open(os.environ["PROBE_OUT"], "w") as out:
        json.dump({"ppid": os.getppid(), "cwd": os.getcwd(), "marker": os.environ.get("PROBE_MARKER"),
                   "preloaded": FASTAPI_BEFORE_THE_TEST_MODULE, "path0": sys.path[0],
                   "pgid_is_pid": os.getpgid(0) == os.getpid()}, out)

def test_fails():
    assert 1 == 2
'''


def _project(pytester: pytest.Pytester, text: str) -> Path:
    """A throwaway pytest project (pytester's directory) holding one test module."""
    pytester.makepyfile(test_probe=text)
    return pytester.path


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_run_sees_its_own_directory_environment_and_outcomes(pytester, tmp_path, warm):
    project = _project(pytester, PROBE_TEST)
    out = tmp_path / "probe.json"
    run = run_pytest(project, None, env={"PROBE_OUT": str(out), "PROBE_MARKER": "m-42"}, timeout=60, warm=warm)

    assert (run.outcome, run.exit_code, run.count("passed"), run.count("failed")) == ("failed", 1, 1, 1)
    assert run.first_failure.error_type == "AssertionError" and "assert 1 == 2" in run.output
    seen = json.loads(out.read_text())
    assert seen["cwd"] == str(project) and seen["path0"] == str(project) and seen["marker"] == "m-42"
    assert seen["pgid_is_pid"]  # a process group of its own, so a timeout kills all it started
    assert (seen["ppid"] != os.getpid()) is warm  # a warm run is forked by the server, not by kit
    assert seen["preloaded"] is warm
    assert "cannot be rewritten" not in run.output


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_run_killed_by_a_signal_reports_it_like_subprocess(pytester, warm):
    project = _project(pytester, "import os, signal\n\ndef test_dies():\n    os.kill(os.getpid(), signal.SIGTERM)\n")
    run = run_pytest(project, None, timeout=60, warm=warm)
    assert (run.exit_code, run.outcome) == (-signal.SIGTERM, "error")
    assert run.cases[0].message == "the run ended mid-test"


@pytest.mark.timeout(120)  # a run that is not killed at its timeout hangs here: pytest-timeout ends it
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_hung_warm_run_is_dumped_and_killed_with_its_children(pytester, tmp_path, warm):
    marker = tmp_path / "child.pid"
    project = _project(pytester, "import os, subprocess, time\n\ndef test_hangs():\n"
                                 "    child = subprocess.Popen(['sleep', '300'])\n"
                                 f"    open({str(marker)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
                                 "    time.sleep(300)\n")
    run = run_pytest(project, None, timeout=4, warm=warm)
    assert run.outcome == "timeout" and run.hang_dump and "test_hangs" in run.hang_dump
    pytest_pid, child = (int(pid) for pid in marker.read_text().split())
    assert not Path(f"/proc/{pytest_pid}").exists()  # the run returns only once the killed run is gone
    wait_until(lambda: gone_or_zombie(child), 10, f"the hung test's child process {child} to die with its group")


def test_stopping_the_servers_kills_their_runs(pytester, tmp_path):
    marker = tmp_path / "in-test"
    project = _project(pytester, f"import time\n\ndef test_long():\n    open({str(marker)!r}, 'w').close()\n"
                                 "    time.sleep(300)\n")
    runs = []
    thread = threading.Thread(target=lambda: runs.append(run_pytest(project, None, timeout=120, warm=True)))
    thread.start()
    wait_until(marker.exists, 60, "the warm run to reach its test")
    forkserver.shutdown()
    thread.join(timeout=30)
    assert not thread.is_alive() and runs[0].exit_code == -signal.SIGKILL and runs[0].outcome == "error"


def test_the_switch_turns_warm_runs_cold(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_FORK_SERVER", "0")
    project = _project(pytester, PROBE_TEST)
    out = tmp_path / "probe.json"
    run_pytest(project, None, env={"PROBE_OUT": str(out)}, timeout=60, warm=True)
    assert json.loads(out.read_text())["ppid"] == os.getpid()


@pytest.mark.faults
def test_a_killed_kit_leaves_no_server_run_or_socket_behind(pytester, tmp_path):
    marker = tmp_path / "pid"
    project = _project(pytester, "import os, time\n\ndef test_long():\n"
                                 f"    open({str(marker)!r}, 'w').write(str(os.getpid()))\n"
                                 "    time.sleep(300)\n")
    script = ("import sys, threading, time\nfrom kit.run import forkserver\nfrom kit.run.runner import run_pytest\n"
              f"threading.Thread(target=run_pytest, args=({str(project)!r}, None), kwargs={{'timeout': 300, "
              "'warm': True}, daemon=True).start()\n"
              "while not forkserver._servers: time.sleep(0.05)\n"
              "print(next(iter(forkserver._servers.values())).directory, flush=True)\ntime.sleep(300)\n")
    kit = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        directory = Path(kit.stdout.readline().strip())
        assert directory.is_dir(), f"the kit process did not start a fork server (exit code {kit.poll()})"
        run = int(wait_until(lambda: marker.exists() and marker.read_text(), 60, "the warm run to reach its test"))
    finally:
        kit.kill()
        kit.wait()
    wait_until(lambda: not directory.exists() and gone_or_zombie(run), 15,
               "the fork server's directory and its run to go with the killed kit")
