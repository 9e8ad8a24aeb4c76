"""Fixtures for kit's own tests: an isolated kit (state, data) and its real embedded PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
collect_ignore = ["suites"]  # tests/suites/*: sample projects that kit diagnose runs, not kit's own tests


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

    EmbeddedServer().stop()
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


@pytest.fixture
def run_kit(kit_home: Path):
    """Run the real ``kit`` command line in a subprocess (as a user would), with a timeout."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None) -> Completed:
        full_env = {**os.environ, **(env or {})}
        result = subprocess.run([sys.executable, "-m", "kit", *args], capture_output=True, text=True,
                                env=full_env, timeout=timeout, cwd=cwd or REPO)
        return Completed(result.returncode, result.stdout, result.stderr)

    return run


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
