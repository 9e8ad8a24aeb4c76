"""The version matrix: catalogue entries run in one isolated environment per pytest-asyncio x SQLAlchemy pair.

Why: most loop/session conflicts are cliffs between releases, and a fix for one version is often the bug of
another (the legacy ``event_loop`` override works on 0.21 and is silently ignored on 1.x; ``loop_scope=`` is a
TypeError before 0.24). Only running the same files under each version shows where the cliffs are.

The environments come from :mod:`kit.catalogue.envs` (built once, cached); each variant runs there through
:func:`kit.catalogue.reproduce.run_variant` and becomes a :class:`~kit.catalogue.cells.MatrixCell`, judged by
:mod:`kit.catalogue.judge` against the entry's ``[versions]`` table (see :mod:`kit.catalogue.scenario`): where
its variants are expected to behave otherwise than the catalogue says for the newest versions.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kit.catalogue.cells import MatrixCell, cell_record, cells_frame, load_matrix_cells
from kit.catalogue.envs import MatrixEnv, ensure_env, envs_dir, requirements_for
from kit.catalogue.judge import as_declared, expected_for
from kit.catalogue.scenario import VARIANTS, Scenario, catalogue, get_scenario
from kit.common.masking import mask_text
from kit.common.text import short_type
from kit.errors import MatrixError, ScenarioError
from kit.run import cancel
from kit.run.progress import Progress
from kit.run.records import append_records, new_run_id

__all__ = [
    "DEFAULT_PYTEST_ASYNCIO", "DEFAULT_SQLALCHEMY", "MatrixRun", "run_matrix", "parse_versions", "cliff_entries",
    "select_entries",
    # defined elsewhere, importable from here as before
    "MatrixEnv", "envs_dir", "requirements_for", "ensure_env",          # kit.catalogue.envs
    "MatrixCell", "cells_frame", "load_matrix_cells",                   # kit.catalogue.cells
    "expected_for",                                                     # kit.catalogue.judge
]

DEFAULT_PYTEST_ASYNCIO = ("0.21.2", "0.23.8", "0.25.3", "1.5.0")
DEFAULT_SQLALCHEMY = ("2.0.58", "2.1.9")   # newest 2.0.x and 2.1.x when this was written (pip index versions)


@dataclass
class MatrixRun:
    cells: list[MatrixCell]
    envs: list[MatrixEnv]
    duration_s: float
    run_id: str = ""

    @property
    def ok(self) -> bool:
        return all(c.as_declared for c in self.cells)

    @property
    def envs_built(self) -> int:
        return sum(1 for e in self.envs if e.built)

    def as_json(self) -> list[dict]:
        return [c.as_dict() for c in self.cells]


# -- choosing versions and entries --------------------------------------------------------------------------
def parse_versions(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """``"0.21.2,1.5.0"`` -> ``("0.21.2", "1.5.0")``; every item must be an exact release number."""
    from packaging.version import InvalidVersion, Version

    if not text:
        return default
    items = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    for item in items:
        try:
            Version(item)
        except InvalidVersion:
            raise MatrixError(f"'{item}' is not a version number. Give exact releases separated by commas, "
                              "e.g. --pytest-asyncio 0.21.2,1.5.0 (`pip index versions pytest-asyncio` lists "
                              "them).") from None
    if not items:
        raise MatrixError("An empty version list: give at least one release, e.g. --sqlalchemy 2.0.58.")
    return items


def cliff_entries() -> list[str]:
    """The entries whose ``[versions]`` table marks a headline cliff (``cliff = true``): the matrix's default
    choice, a few minutes warm. Other entries may declare versions too (mostly "the fix needs >= 0.24/0.26");
    ``--all`` or explicit ids run them."""
    return [s.id for s in catalogue() if s.kind != "notebook" and s.versions.get("cliff")] or \
        [s.id for s in catalogue() if s.kind != "notebook"]


def select_entries(ids: list[str] | None) -> list[Scenario]:
    """The chosen entries (all by default) less notebook entries and entries that need a service (Redis) the
    version environments do not install; a ScenarioError for an unknown id."""
    chosen = [get_scenario(i) for i in ids] if ids else catalogue()
    runnable = [s for s in chosen if s.kind != "notebook" and not s.services]
    if not runnable:
        raise MatrixError("Every entry chosen is a notebook entry or needs a service such as Redis, and the matrix "
                          "runs pytest entries whose environments hold only pytest-asyncio, SQLAlchemy and their "
                          "companions (notebook entries run in kit's own kernel; `kit scenarios run` runs every "
                          "entry). `kit scenarios list` shows the others.")
    return runnable


# -- running ----------------------------------------------------------------------------------------------
def _cell_versions(env: MatrixEnv) -> dict:
    versions = {"pytest-asyncio": env.pytest_asyncio, "sqlalchemy": env.sqlalchemy}
    return {**versions, **{k: v for k, v in env.versions.items() if v}}


def _error_cell(scenario: Scenario, variant: str, env: MatrixEnv) -> MatrixCell:
    expected, reason = expected_for(scenario, variant, _cell_versions(env))
    return MatrixCell(scenario.id, variant, env.pytest_asyncio, env.sqlalchemy, "error", "EnvironmentBuildError",
                      env.error, 0.0, expected, False, reason, env=env.key, versions=_cell_versions(env))


def _run_cell(scenario: Scenario, variant: str, env: MatrixEnv, target, timeout: float | None) -> MatrixCell:
    from kit.catalogue.reproduce import run_variant

    versions = _cell_versions(env)
    expected, reason = expected_for(scenario, variant, versions)
    result = run_variant(scenario, variant, target, timeout, python=env.python)
    versions = {**versions, "postgresql": result.versions.get("postgresql")}
    return MatrixCell(scenario.id, variant, env.pytest_asyncio, env.sqlalchemy, result.outcome,
                      result.first_error_type, mask_text(result.first_error_message), result.duration_s, expected,
                      as_declared(expected, result.outcome, result.reproduced, result.tests_passed), reason,
                      result.reproduced, result.tests_passed, result.tests_failed, result.tests_errored, env.key,
                      versions)


def run_matrix(
    ids: list[str] | None,
    target,
    pytest_asyncio: tuple[str, ...] = DEFAULT_PYTEST_ASYNCIO,
    sqlalchemy: tuple[str, ...] = DEFAULT_SQLALCHEMY,
    variants: tuple[str, ...] = VARIANTS,
    jobs: int = 1,
    timeout: float | None = None,
    progress: Callable[[str], None] | None = None,
    record: bool = True,
) -> MatrixRun:
    """Build (or reuse) one environment per version pair, then run the chosen entries' variants in each.

    Notebook entries are skipped. Cells come back in environment order, then catalogue order.
    """
    scenarios = select_entries(ids)
    if unknown := [v for v in variants if v not in VARIANTS]:
        raise ScenarioError(f"Unknown variant(s) {', '.join(unknown)}: use broken and/or fixed.")
    started, run_id = time.monotonic(), new_run_id()
    pairs = list(itertools.product(pytest_asyncio, sqlalchemy))
    envs: dict[tuple[str, str], MatrixEnv] = {}
    bar = None if progress else Progress(len(pairs) * len(scenarios) * len(variants), "matrix")
    say = progress or bar.note  # type: ignore[union-attr]

    def build(pair: tuple[str, str]) -> None:
        env = ensure_env(*pair)
        envs[pair] = env
        state = (f"FAILED after {env.build_s:.1f} s: {(env.error or '').splitlines()[0]}" if env.error else
                 f"built in {env.build_s:.1f} s" if env.built else "reused")
        say(f"env  {env.label:<44} {state}")

    cancel.run_all(build, pairs, min(jobs, 2))

    work = [(envs[p], s, v) for p in pairs for s in scenarios for v in variants]
    cells: dict[int, MatrixCell] = {}
    lock, done = threading.Lock(), [0]

    def one(index: int) -> None:
        env, scenario, variant = work[index]
        cell = (_error_cell(scenario, variant, env) if env.error
                else _run_cell(scenario, variant, env, target, timeout))
        with lock:
            cells[index] = cell
            done[0] += 1
            if record:
                append_records([cell_record(cell, getattr(target, "kind", None), run_id)])
            error = short_type(cell.first_error_type)
            line = (f"[{done[0]:>3}/{len(work)}] {cell.scenario:<34} {cell.variant:<6} pa {cell.pytest_asyncio:<7} "
                    f"sa {cell.sqlalchemy:<7} {cell.outcome:<7} "
                    f"{'as declared' if cell.as_declared else 'UNEXPECTED':<11} {cell.duration_s:5.1f} s  {error}")
            if bar is not None:
                bar.step(line, f"{cell.scenario} pa {cell.pytest_asyncio} sa {cell.sqlalchemy}")
            else:
                say(line)

    try:
        cancel.run_all(one, list(range(len(work))), jobs)
    finally:
        if bar is not None:
            bar.close()
    return MatrixRun([cells[i] for i in range(len(work))], [envs[p] for p in pairs],
                     round(time.monotonic() - started, 1), run_id)

