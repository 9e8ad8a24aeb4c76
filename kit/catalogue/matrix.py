"""The version matrix: catalogue entries run in one isolated environment per pytest-asyncio x SQLAlchemy pair.

Why: most loop/session conflicts are cliffs between releases, and a fix for one version is often the bug of
another (the legacy ``event_loop`` override works on 0.21 and is silently ignored on 1.x; ``loop_scope=`` is a
TypeError before 0.24). Only running the same files under each version shows where the cliffs are.

Each environment is a plain venv under ``state_dir()/envs/<key>`` (``KIT_ENV_CACHE`` overrides the directory,
so CI and kit's own tests build once), built with ``uv`` when it is on PATH, else ``python -m venv`` + pip.
A marker file is written only after a successful install, so a half-built environment is rebuilt, never used;
a failed install becomes an ``error`` cell, never a crash. kit's recorder reaches an environment through a
``.pth`` file naming a directory that holds only a link to the ``kit`` package: ``kit/__init__`` and
``kit.plugin`` import only the stdlib and pytest, so none of kit's own dependencies leak into the versions
being measured.

An entry's ``[versions]`` table (see :mod:`kit.catalogue.scenario`) says where its variants are expected to behave
otherwise than the catalogue says for the newest versions; each cell is judged against that.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from kit.errors import EnvironmentBuildError, MatrixError, ScenarioError
from kit.common.masking import mask_text
from kit.common.paths import state_dir
from kit.catalogue.scenario import VARIANTS, Scenario, catalogue, get_scenario

__all__ = [
    "DEFAULT_PYTEST_ASYNCIO", "DEFAULT_SQLALCHEMY", "MatrixEnv",
    "MatrixCell", "MatrixRun", "envs_dir", "requirements_for", "ensure_env", "expected_for", "run_matrix",
    "cells_frame", "load_matrix_cells", "parse_versions", "cliff_entries", "select_entries",
]

DEFAULT_PYTEST_ASYNCIO = ("0.21.2", "0.23.8", "0.25.3", "1.5.0")
DEFAULT_SQLALCHEMY = ("2.0.58", "2.1.9")   # newest 2.0.x and 2.1.x when this was written (pip index versions)
# What every environment gets besides the two pinned packages. asyncpg and httpx are pinned because their
# behaviour is part of the catalogue (httpx 0.28 removed AsyncClient(app=)); a change here changes every key.
COMPANIONS = ("asyncpg==0.32.0", "httpx==0.28.1", "fastapi>=0.110", "asgi-lifespan>=2.1")
MARKER = "kit-env.json"
RECORDED = ("python", "pytest", "pytest-asyncio", "sqlalchemy", "asyncpg", "greenlet", "httpx", "fastapi")
INSTALL_TIMEOUT = 900.0



@dataclass
class MatrixEnv:
    """One environment: its pinned pair, where it lives, and what is really installed in it."""

    pytest_asyncio: str
    sqlalchemy: str
    key: str
    path: Path
    built: bool = False          # True when this call built it, False when a cached one was reused
    build_s: float = 0.0
    error: str | None = None     # the masked, actionable reason it could not be built
    versions: dict = field(default_factory=dict)

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def label(self) -> str:
        return f"pytest-asyncio {self.pytest_asyncio} + SQLAlchemy {self.sqlalchemy}"


@dataclass
class MatrixCell:
    """One variant of one entry in one environment, judged against what its entry declares there."""

    scenario: str
    variant: str
    pytest_asyncio: str
    sqlalchemy: str
    outcome: str
    first_error_type: str | None
    first_error_message: str | None
    duration_s: float
    expected: str                 # symptom | passed | fails (see expected_for)
    as_declared: bool
    reason: str | None = None     # the entry's [versions] reason when a declaration applied
    reproduced: bool = False      # broken: its symptom showed; fixed: every test passed
    tests_passed: int = 0
    tests_failed: int = 0
    tests_errored: int = 0
    env: str = ""
    versions: dict = field(default_factory=dict)

    @property
    def cite(self) -> str:
        """How the advisor and the notebook name this cell."""
        return (f"{self.scenario}/{self.variant} @ pytest-asyncio {self.pytest_asyncio} + "
                f"SQLAlchemy {self.sqlalchemy}: {self.outcome}"
                + (f" ({(self.first_error_type or '').rsplit('.', 1)[-1]})" if self.first_error_type else ""))

    def as_dict(self) -> dict:
        return asdict(self)


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


# -- versions and declarations ----------------------------------------------------------------------------
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


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _matches(rules: list[str] | str | None, versions: dict) -> bool:
    """True when any rule holds; a rule is ``pkg<spec>`` or several joined with `` and ``."""
    from packaging.requirements import Requirement

    if not rules:
        return False
    for rule in [rules] if isinstance(rules, str) else rules:
        holds = True
        for part in rule.split(" and "):
            requirement = Requirement(part.strip())
            installed = versions.get(_canonical(requirement.name))
            if installed is None or not requirement.specifier.contains(installed, prereleases=True):
                holds = False
                break
        if holds:
            return True
    return False


def expected_for(scenario: Scenario, variant: str, versions: dict) -> tuple[str, str | None]:
    """What the variant should do under ``versions``, and the declaration's reason if one applied.

    ``symptom``: the broken variant shows the entry's symptom (the catalogue's default); ``passed``: every test
    passes; ``fails``: the run fails in some other way (``broken_differs_on``, ``fixed_fails_on``).
    """
    table = scenario.versions or {}
    reason = table.get("reason")
    if variant == "broken":
        if _matches(table.get("broken_passes_on"), versions):
            return "passed", reason
        if _matches(table.get("broken_differs_on"), versions):
            return "fails", reason
        return "symptom", None
    if _matches(table.get("fixed_fails_on"), versions):
        return "fails", reason
    return "passed", None


def _judge(expected: str, outcome: str, reproduced: bool, passed: int) -> bool:
    if expected == "symptom":
        return reproduced
    if expected == "passed":
        return outcome == "passed" and passed > 0
    return outcome in ("failed", "error", "timeout")


# -- environments -----------------------------------------------------------------------------------------
def envs_dir() -> Path:
    """Where environments are cached: ``$KIT_ENV_CACHE``, else ``state_dir()/envs``."""
    explicit = os.environ.get("KIT_ENV_CACHE")
    path = Path(explicit).expanduser() if explicit else state_dir() / "envs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def requirements_for(pytest_asyncio: str, sqlalchemy: str) -> list[str]:
    """The pins of one environment: pytest-asyncio < 1.0 needs pytest < 9 (8.3.x); 1.x takes the newest."""
    from packaging.version import Version

    pytest_pin = "pytest>=8.3,<8.4" if Version(pytest_asyncio) < Version("1.0") else "pytest>=8.3"
    return [f"pytest-asyncio=={pytest_asyncio}", f"sqlalchemy[asyncio]=={sqlalchemy}", pytest_pin, *COMPANIONS]


def _key(pytest_asyncio: str, sqlalchemy: str, requirements: list[str]) -> str:
    recipe = "\n".join([sys.version.split()[0], *requirements])
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:8]
    return f"pa{pytest_asyncio}-sa{sqlalchemy}-py{sys.version_info[0]}{sys.version_info[1]}-{digest}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per environment, across threads and kit processes."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_step(command: list[str], log: Path, timeout: float, what: str) -> None:
    with open(log, "ab") as output:
        output.write(f"$ {' '.join(command)}\n".encode())
        output.flush()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()
            raise EnvironmentBuildError(f"{what} took longer than {timeout:.0f} s and was stopped. "
                                        "Is the package registry slow or unreachable? Run `kit matrix` "
                                        "again to retry.") from None
    if code != 0:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        tail = "\n".join(lines[-12:])
        raise EnvironmentBuildError(
            f"{what} failed (exit {code}). Its last lines:\n{mask_text(tail)}\nCheck that the versions exist "
            "(`pip index versions pytest-asyncio`, `pip index versions sqlalchemy`) and that the package "
            "registry is reachable; a failed environment is rebuilt on the next run.")


def _installer(python: str) -> list[str]:
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--python", python, "--quiet"]
    return [sys.executable, "-m", "pip", "--python", python, "install", "--no-input", "--disable-pip-version-check",
            "--progress-bar", "off"]


def _link_kit(path: Path) -> None:
    """Make ``kit.plugin`` importable in the environment, pointing at this kit checkout (refreshed on reuse)."""
    package = Path(__file__).resolve().parents[1]  # the kit package
    holder = path / "kit-recorder"
    holder.mkdir(exist_ok=True)
    link = holder / "kit"
    if not (link.is_symlink() and os.readlink(link) == str(package)):
        temporary = holder / f".kit-{os.getpid()}-{threading.get_ident()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(package, target_is_directory=True)
        os.replace(temporary, link)
    for site in path.glob("lib/python*/site-packages"):
        pth = site / "kit-recorder.pth"
        if not pth.exists() or pth.read_text().strip() != str(holder):
            pth.write_text(f"{holder}\n")


_PROBE = ("import importlib.metadata as m, json, sys\nfound = {'python': sys.version.split()[0]}\n"
          "for name in %r:\n    try: found[name] = m.version(name)\n    except Exception: found[name] = None\n"
          "import kit.plugin\nprint(json.dumps(found))")


def _installed(python: str) -> dict:
    """The versions really installed, read by the environment's own interpreter (also proves the plugin loads)."""
    done = subprocess.run([python, "-c", _PROBE % (RECORDED[1:],)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise EnvironmentBuildError("The environment was installed but its Python cannot import kit's recorder "
                                    f"(kit.plugin):\n{mask_text(done.stderr.strip()[-1500:])}\nDelete it and "
                                    "run `kit matrix` again.")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_env(pytest_asyncio: str, sqlalchemy: str, timeout: float = INSTALL_TIMEOUT) -> MatrixEnv:
    """The environment for one pair: reused when its marker exists, else (re)built. Never raises for a failed
    install: the returned env carries ``error`` instead."""
    requirements = requirements_for(pytest_asyncio, sqlalchemy)
    key = _key(pytest_asyncio, sqlalchemy, requirements)
    root = envs_dir()
    env = MatrixEnv(pytest_asyncio, sqlalchemy, key, root / key)
    marker = env.path / MARKER
    with _locked(root / f".{key}.lock"):
        if marker.is_file():
            with contextlib.suppress(ValueError, OSError):
                env.versions = json.loads(marker.read_text()).get("versions", {})
                _link_kit(env.path)
                return env
        started = time.monotonic()
        shutil.rmtree(env.path, ignore_errors=True)   # half-built or unreadable: start again
        env.path.mkdir(parents=True)
        log = env.path / "build.log"
        try:
            _run_step([sys.executable, "-m", "venv", "--without-pip", str(env.path)], log, 120,
                      "Creating the virtual environment")
            _run_step([*_installer(env.python), *requirements], log, timeout,
                      f"Installing {env.label}")
            _link_kit(env.path)
            env.versions = _installed(env.python)
        except EnvironmentBuildError as error:
            env.error = str(error)
            shutil.rmtree(env.path, ignore_errors=True)
        except OSError as error:
            env.error = f"Cannot create {env.path} ({error}). Set KIT_ENV_CACHE to a writable directory."
            shutil.rmtree(env.path, ignore_errors=True)
        env.build_s = round(time.monotonic() - started, 1)
        if env.error is None:
            env.built = True
            payload = {"pytest_asyncio": pytest_asyncio, "sqlalchemy": sqlalchemy, "requirements": requirements,
                       "versions": env.versions, "build_s": env.build_s,
                       "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            temporary = env.path / f".{MARKER}.tmp"
            temporary.write_text(json.dumps(payload, indent=2) + "\n")
            os.replace(temporary, marker)   # only now is the environment usable
    return env


# -- running ----------------------------------------------------------------------------------------------
def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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
                      _judge(expected, result.outcome, result.reproduced, result.tests_passed), reason,
                      result.reproduced, result.tests_passed, result.tests_failed, result.tests_errored, env.key,
                      versions)


def _record(cell: MatrixCell, target, run_id: str) -> None:
    from kit.run.records import RunRecord, append_records

    append_records([RunRecord(
        "matrix", cell.scenario, cell.outcome, variant=cell.variant, error_type=cell.first_error_type,
        error_message=cell.first_error_message, duration_s=cell.duration_s, versions=cell.versions,
        target_kind=getattr(target, "kind", None), run_id=run_id,
        details={"pytest_asyncio": cell.pytest_asyncio, "sqlalchemy": cell.sqlalchemy, "expected": cell.expected,
                 "as_declared": cell.as_declared, "reason": cell.reason, "reproduced": cell.reproduced,
                 "passed": cell.tests_passed, "failed": cell.tests_failed, "errored": cell.tests_errored,
                 "env": cell.env})])


def cliff_entries() -> list[str]:
    """The entries whose ``[versions]`` table marks a headline cliff (``cliff = true``): the matrix's default
    choice, a few minutes warm. Other entries may declare versions too (mostly "the fix needs >= 0.24/0.26");
    ``--all`` or explicit ids run them."""
    return [s.id for s in catalogue() if s.kind != "notebook" and s.versions.get("cliff")] or \
        [s.id for s in catalogue() if s.kind != "notebook"]


def select_entries(ids: list[str] | None) -> list[Scenario]:
    """The chosen entries (all by default) less notebook entries; a ScenarioError for an unknown id."""
    chosen = [get_scenario(i) for i in ids] if ids else catalogue()
    runnable = [s for s in chosen if s.kind != "notebook"]
    if not runnable:
        raise MatrixError("Every entry chosen is a notebook entry, and the matrix runs pytest entries only "
                          "(notebook entries run in kit's own kernel). `kit scenarios list` shows the others.")
    return runnable


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
    from kit.run.records import new_run_id

    say = progress or _say
    scenarios = select_entries(ids)
    if unknown := [v for v in variants if v not in VARIANTS]:
        raise ScenarioError(f"Unknown variant(s) {', '.join(unknown)}: use broken and/or fixed.")
    started, run_id = time.monotonic(), new_run_id()
    pairs = list(itertools.product(pytest_asyncio, sqlalchemy))
    envs: dict[tuple[str, str], MatrixEnv] = {}

    def build(pair: tuple[str, str]) -> None:
        env = ensure_env(*pair)
        envs[pair] = env
        state = (f"FAILED after {env.build_s:.1f} s: {(env.error or '').splitlines()[0]}" if env.error else
                 f"built in {env.build_s:.1f} s" if env.built else "reused")
        say(f"env  {env.label:<44} {state}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(jobs, 2))) as pool:
        for future in [pool.submit(build, p) for p in pairs]:
            future.result()

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
                _record(cell, target, run_id)
            error = (cell.first_error_type or "").rsplit(".", 1)[-1]
            say(f"[{done[0]:>3}/{len(work)}] {cell.scenario:<34} {cell.variant:<6} pa {cell.pytest_asyncio:<7} "
                f"sa {cell.sqlalchemy:<7} {cell.outcome:<7} {'as declared' if cell.as_declared else 'UNEXPECTED':<11}"
                f" {cell.duration_s:5.1f} s  {error}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(one, i) for i in range(len(work))]:
            future.result()
    return MatrixRun([cells[i] for i in range(len(work))], [envs[p] for p in pairs],
                     round(time.monotonic() - started, 1), run_id)


# -- reading results back ---------------------------------------------------------------------------------
def cells_frame(cells: list[MatrixCell]):
    """The cells as a DataFrame, one row per cell (the JSON fields as columns)."""
    import pandas as pd

    rows = [{k: v for k, v in c.as_dict().items() if k != "versions"} for c in cells]
    return pd.DataFrame.from_records(rows)


def load_matrix_cells(run_id: str | None = None, path: Path | None = None) -> list[MatrixCell]:
    """The cells of a recorded matrix run (the latest by default), rebuilt from the records store."""
    from kit.run.records import iter_records

    rows = iter_records("matrix", path)
    if not rows:
        return []
    run_id = run_id or max(rows, key=lambda r: r.get("timestamp") or "")["run_id"]
    cells = []
    for row in (r for r in rows if r.get("run_id") == run_id):
        d = row.get("details") if isinstance(row.get("details"), dict) else {}
        cells.append(MatrixCell(row["subject"], row.get("variant"), d.get("pytest_asyncio"), d.get("sqlalchemy"),
                                row["outcome"], row.get("error_type"), row.get("error_message"),
                                row.get("duration_s", 0.0), d.get("expected", "symptom"), bool(d.get("as_declared")),
                                d.get("reason"), bool(d.get("reproduced")), d.get("passed", 0), d.get("failed", 0),
                                d.get("errored", 0), d.get("env", ""),
                                row.get("versions") if isinstance(row.get("versions"), dict) else {}))
    return cells
