"""Fixtures for kit's own tests: an isolated kit (state, data) and its real embedded PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
collect_ignore = ["suites", "data"]  # sample projects kit diagnose runs, recorded runs: not kit's own tests
pytest_plugins = ["pytester"]  # throwaway pytest projects for kit's runner and recorder


@dataclass
class Completed:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


@pytest.fixture(scope="session")
def kit_home(tmp_path_factory) -> Path:
    """A private kit state and data directory for the whole test session (its own embedded server)."""
    home = tmp_path_factory.mktemp("kit-home")
    return home


@pytest.fixture(scope="session", autouse=True)
def isolated_kit(kit_home: Path):
    saved = {k: os.environ.get(k) for k in ("KIT_STATE_DIR", "KIT_DATA_DIR", "DATABASE_URL")}
    os.environ["KIT_STATE_DIR"] = str(kit_home / "state")
    os.environ["KIT_DATA_DIR"] = str(kit_home / "data")
    os.environ.pop("DATABASE_URL", None)
    yield
    from kit.db.embedded import EmbeddedServer
    from kit.db.redis_server import EmbeddedRedis

    EmbeddedServer().stop()
    EmbeddedRedis().stop()  # started by whichever test needed a Redis
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def target(isolated_kit):
    """The session's embedded server, started once."""
    from kit.db.target import resolve_target

    return resolve_target()


def kit_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None) -> Completed:
    """Run the real ``kit`` command line in a subprocess (as a user would), with a timeout."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run([sys.executable, "-m", "kit", *args], capture_output=True, text=True,
                            env=full_env, timeout=timeout, cwd=cwd or REPO)
    return Completed(result.returncode, result.stdout, result.stderr)


@pytest.fixture
def run_kit(kit_home: Path):
    """:func:`kit_cli` for tests of the session's kit."""
    return kit_cli


@dataclass
class Investigation:
    out: Path           # the report directory
    result: Completed   # what the command printed and its exit code


@pytest.fixture(scope="session")
def investigation(target, tmp_path_factory) -> Investigation:
    """Every notebook of ``notebooks/``, run once per session: ``kit investigate --jobs 2 --out DIR``.

    Shared by the per-notebook tests (tests/test_notebooks.py) and the report checks (tests/test_investigate.py),
    so no notebook runs twice. It does not fail by itself: each test judges its own part of the outcome.
    """
    out = tmp_path_factory.mktemp("investigation") / "reports"
    return Investigation(out, kit_cli("investigate", "--jobs", "2", "--out", str(out), timeout=900))


def leftover_processes(kit_data_dir: str, marker: str) -> list[str]:
    """Live processes started by *this* kit (its KIT_DATA_DIR is in their environment) whose command
    line or working directory contains ``marker``. Other kits running on the machine do not count."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"KIT_DATA_DIR={kit_data_dir}".encode() not in (proc / "environ").read_bytes():
                continue
            if (proc / "stat").read_text().split(") ")[-1].startswith("Z"):
                continue  # a zombie has exited; only its exit status waits to be collected
            if marker.encode() in (proc / "cmdline").read_bytes() or marker in os.readlink(proc / "cwd"):
                found.append(proc.name)
        except OSError:
            continue
    return found


def assert_no_traceback(text: str) -> None:
    assert "Traceback (most recent call last)" not in text, text


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition`` until it returns something truthy, and return that; after ``timeout`` seconds fail
    the test saying what never happened. For waiting on another process: never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def process_environment(pid: int | str) -> dict[str, str]:
    """The environment a process was started with (``/proc/PID/environ``; empty once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def gone_or_zombie(pid: int | str) -> bool:
    """The process has exited (only its exit status may still wait to be collected)."""
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().split(") ")[-1].startswith("Z")
    except OSError:
        return True


def plain_pytest_counts(path: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> dict[str, int]:
    """What plain pytest (no kit recorder, kit's own record variables removed) says of the suite at ``path``: its
    summary line's counts, ``error`` and ``errors`` both as ``errors``: the reference a diagnosis is held to."""
    import re

    clean = {k: v for k, v in os.environ.items() if not k.startswith("KIT_RECORD")}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:kit.plugin",
                             *args], cwd=path, capture_output=True, text=True, timeout=180, env={**clean, **env})
    tail = result.stdout.strip().splitlines()[-1]
    return {("errors" if kind.startswith("error") else kind): int(n)
            for n, kind in re.findall(r"(\d+) (passed|failed|errors?)", tail)}


def diagnosis_counts(diagnosis) -> dict[str, int]:
    """A diagnosis' counts in :func:`plain_pytest_counts`' shape (zero counts left out, as pytest's summary does)."""
    counts = {"passed": diagnosis.passed, "failed": diagnosis.failed, "errors": diagnosis.errors}
    return {k: v for k, v in counts.items() if v}

