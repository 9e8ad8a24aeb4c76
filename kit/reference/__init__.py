"""The reference "genesis" API and its test suite in stages: the original investigation, replayable.

``genesis/`` is the app (importable as ``kit.reference.genesis``), ``tests/`` its suite, and
``stages/<name>/`` the conftest.py + pytest.ini of each step; ``stages/stages.toml`` says which test
modules a stage runs and what each test is expected to do. ``assemble_stage`` builds a runnable project.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from kit.errors import ScenarioError

__all__ = ["REFERENCE_DIR", "STAGES_DIR", "TESTS_DIR", "stage_names", "stage_config", "assemble_stage"]

REFERENCE_DIR = Path(__file__).parent
STAGES_DIR = REFERENCE_DIR / "stages"
TESTS_DIR = REFERENCE_DIR / "tests"
STAGE_FILES = ("conftest.py", "pytest.ini")


def _config() -> dict:
    return tomllib.loads((STAGES_DIR / "stages.toml").read_text())


def stage_names() -> list[str]:
    """The stages in the order of the investigation."""
    return list(_config()["stages"])


def stage_config(name: str) -> dict:
    """The raw table of one stage from stages.toml (title, step, modules, [expected])."""
    stages = _config()["stages"]
    if name not in stages:
        raise ScenarioError(
            f"There is no stage '{name}'. Known stages, in order: {', '.join(stages)}. "
            "`kit stage list` shows them with their steps."
        )
    return stages[name]


def assemble_stage(name: str, destination: str | Path) -> Path:
    """Write a runnable pytest project for stage ``name`` into ``destination`` (created if needed).

    The project is the stage's ``conftest.py`` and ``pytest.ini`` at the top and the test modules the stage
    includes under ``tests/``. The app itself is imported from the installed kit (``kit.reference.genesis``).
    Run it with ``DATABASE_URL`` set to a scratch database: every stage drops and creates its tables.
    """
    config = stage_config(name)
    destination = Path(destination)
    tests = destination / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    for filename in STAGE_FILES:
        shutil.copyfile(STAGES_DIR / name / filename, destination / filename)
    for module in config["modules"]:
        shutil.copyfile(TESTS_DIR / module, tests / module)
    return destination
