"""Which repair a cause gets: the smallest change, in the place the cause lives, valid for the installed versions.

One function per kind of repair, chosen by the finding's cause and the runner that ran the suite; each reads the
suite (a scratch copy, never the user's files) and returns the files' new texts, or the reason it cannot repair
mechanically. The loop-bound causes share one repair under pytest-asyncio (every test and fixture on the session's
loop, by the means the installed pytest-asyncio has: ini options from 0.26, a session loop marker added at
collection on 0.24-0.25, a session-scoped ``event_loop`` before 0.24), because it changes configuration only, not
the application; the alternatives (NullPool, a per-test engine) are named, not applied. Entries whose repair is a
design change declare it in their ``[repair]`` table and are listed as unfixed with that reason.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from kit.catalogue.scenario import get_scenario
from kit.diagnose.evidence import runner_context
from kit.diagnose.model import UNKNOWN, Diagnosis, Finding
from kit.diagnose.repair import cfgedit, pyedit
from kit.diagnose.repair.lifespan import wrap_in_lifespan_manager
from kit.diagnose.scan import IGNORED_DIRS
from kit.errors import ScenarioError

__all__ = ["Change", "Repair", "plan_repair", "MECHANICAL"]

SESSION_SCOPES = {"asyncio_default_fixture_loop_scope": "session", "asyncio_default_test_loop_scope": "session"}


@dataclass(frozen=True)
class Change:
    """One file's new text in the suite's copy."""

    file: str          # relative to the suite, with forward slashes
    text: str          # the whole new text
    line: int          # where the change is (1-based, in the new text)
    description: str


@dataclass
class Repair:
    """The edits for one cause, why they fix it, and what else would."""

    cause: str
    changes: list[Change] = field(default_factory=list)
    why: str = ""
    alternatives: str = ""


def _is_test_file(rel: str) -> bool:
    name = Path(rel).name
    return name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")


class _Suite:
    """The copy being repaired: its Python files (outside virtualenvs and caches), read on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._texts: dict[str, str] = {}

    def python_files(self, tests_only: bool = False) -> list[str]:
        """The suite's Python files; ``tests_only``: its tests and conftests, the modules that import pytest
        (fixture plugins) and the modules conftests import (test helpers such as a session factory)."""
        every = []
        for path in sorted(self.root.rglob("*.py")):
            rel = path.relative_to(self.root)
            if not IGNORED_DIRS.intersection(rel.parts[:-1]):
                every.append(rel.as_posix())
        if not tests_only:
            return every
        tests = [rel for rel in every if _is_test_file(rel) or "pytest" in (self.text(rel) or "")]
        helpers = self._imported_by([rel for rel in tests if rel.endswith("conftest.py")])
        return [rel for rel in every if rel in tests or Path(rel).with_suffix("").as_posix().replace("/", ".")
                in helpers or Path(rel).stem in helpers]

    def _imported_by(self, files: list[str]) -> set[str]:
        names: set[str] = set()
        for rel in files:
            try:
                tree = ast.parse(self.text(rel) or "")
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
                elif isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
        return names

    def text(self, rel: str) -> str | None:
        if rel not in self._texts:
            path = self.root / rel
            self._texts[rel] = path.read_text() if path.is_file() else None  # type: ignore[assignment]
        return self._texts[rel]

    def root_conftest(self, near: str | None = None) -> str:
        """The shallowest conftest.py on the way to ``near`` (a test file), else the suite's root one."""
        if near:
            parts = Path(near).parts[:-1]
            for depth in range(len(parts) + 1):
                candidate = "/".join([*parts[:depth], "conftest.py"])
                if (self.root / candidate).is_file():
                    return candidate
        return "conftest.py"

    def edit_each(self, files: list[str], edit: Callable[[str], pyedit.Edited | None]) -> list[Change]:
        changes = []
        for rel in files:
            text = self.text(rel)
            if text is None:
                continue
            edited = edit(text)
            if edited is not None and edited.text != text:
                changes.append(Change(rel, edited.text, edited.line, edited.description))
        return changes


@dataclass
class _Context:
    finding: Finding
    diagnosis: Diagnosis
    suite: _Suite

    @property
    def config(self) -> dict:
        return self.diagnosis.config or {}

    def version(self, package: str) -> Version | None:
        value = self.config.get(package)
        try:
            return Version(value) if value else None
        except ValueError:
            return None

    @property
    def test_file(self) -> str | None:
        return self.finding.nodeid.split("::", 1)[0] if "::" in self.finding.nodeid else None


Outcome = Repair | str  # a repair, or why there is none


# -- one loop for everything ----------------------------------------------------------------------------
def _one_loop(ctx: _Context) -> Outcome:
    runner = runner_context(ctx.config)
    if runner == "anyio":
        return _hold_anyio_runner(ctx)
    if runner == "sync":
        return _dispose_in_lifespan(ctx)
    installed = ctx.version("pytest-asyncio")
    if installed is None:
        return ("pytest-asyncio's version is unknown where the suite ran, so kit cannot tell which loop options it "
                "honours")
    repair = Repair(ctx.finding.cause, why="every test and fixture runs on the session's one loop, so nothing that "
                    "holds a connection outlives the loop that opened it",
                    alternatives="`poolclass=NullPool` for the test engine, or `await engine.dispose()` after each "
                                 "test on its own loop, keep per-test loops")
    conftest = ctx.suite.root_conftest(ctx.test_file)
    if installed >= Version("0.26"):
        edited = cfgedit.set_ini_options(ctx.suite.root, SESSION_SCOPES)
        if edited is not None:
            path, text, line = edited
            repair.changes.append(Change(path.relative_to(ctx.suite.root).as_posix(), text, line,
                                         "asyncio_default_fixture_loop_scope and asyncio_default_test_loop_scope "
                                         f"= session (pytest-asyncio {installed})"))
        if ctx.finding.cause == "legacy-event-loop-override":
            repair.changes += _drop_event_loop_fixtures(ctx)
    elif installed >= Version("0.24"):  # the test loop scope option arrived in 0.26: mark the tests instead
        edited = cfgedit.set_ini_options(ctx.suite.root, {"asyncio_default_fixture_loop_scope": "session"})
        if edited is not None:
            path, text, line = edited
            repair.changes.append(Change(path.relative_to(ctx.suite.root).as_posix(), text, line,
                                         "asyncio_default_fixture_loop_scope = session"))
        repair.changes += _append(ctx, conftest, _SESSION_MARKER_HOOK, "pytest_collection_modifyitems",
                                  "every async test marked loop_scope=\"session\" at collection (pytest-asyncio "
                                  f"{installed} has no asyncio_default_test_loop_scope)", ("pytest", "pytest_asyncio"))
    else:  # before 0.24 a session-scoped event_loop fixture is pytest-asyncio's own way to share one loop
        repair.changes += _append(ctx, conftest, _SESSION_EVENT_LOOP, "event_loop",
                                  f"a session-scoped event_loop fixture (pytest-asyncio {installed})",
                                  ("asyncio", "pytest"))
    if not repair.changes:
        return "the suite's configuration already puts every test and fixture on the session's loop"
    return repair


_SESSION_MARKER_HOOK = '''def pytest_collection_modifyitems(items):
    """kit fix: every async test on the session's loop, like the fixtures."""
    for item in items:
        if pytest_asyncio.is_async_test(item):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)
'''

_SESSION_EVENT_LOOP = '''@pytest.fixture(scope="session")
def event_loop():
    """kit fix: one event loop for the whole session (pytest-asyncio < 0.24)."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()
'''

_HOLD_RUNNER = '''@pytest.fixture(scope="session", autouse=True)
async def hold_anyio_runner(anyio_backend):
    """kit fix: hold AnyIO's test runner for the whole session, so every test and fixture shares its one loop."""
    yield
'''

_SESSION_BACKEND = '''@pytest.fixture(scope="session")
def anyio_backend():
    return "asyncio"
'''


def _append(ctx: _Context, rel: str, block: str, name: str, description: str, imports: tuple[str, ...]) -> list[Change]:
    text = ctx.suite.text(rel) or ""
    edited = pyedit.append_block(text, block)
    if edited is None:
        return []
    new = edited.text
    for module in imports:
        new = pyedit.ensure_import(new, module)
    line = next((i for i, row in enumerate(new.splitlines(), 1) if f"def {name}(" in row), edited.line)
    ctx.suite._texts[rel] = new
    return [Change(rel, new, line, description)]


def _drop_event_loop_fixtures(ctx: _Context) -> list[Change]:
    """The ``event_loop`` fixtures pytest-asyncio >= 1.0 ignores: dead code that reads as if it shared a loop."""
    files = [rel for rel in ctx.suite.python_files(tests_only=True) if "def event_loop" in (ctx.suite.text(rel) or "")]
    return ctx.suite.edit_each(files, lambda text: pyedit.remove_function(text, "event_loop"))


def _hold_anyio_runner(ctx: _Context) -> Outcome:
    conftest = ctx.suite.root_conftest(ctx.test_file)
    changes: list[Change] = []
    defined = [rel for rel in ctx.suite.python_files(tests_only=True)
               if "def anyio_backend" in (ctx.suite.text(rel) or "")]
    if defined:
        changes += ctx.suite.edit_each(defined, lambda text: pyedit.fixture_keyword(text, "anyio_backend", "scope",
                                                                                     '"session"'))
        for change in changes:
            ctx.suite._texts[change.file] = change.text
    else:
        changes += _append(ctx, conftest, _SESSION_BACKEND, "anyio_backend", "a session-scoped anyio_backend",
                           ("pytest",))
    changes += _append(ctx, conftest, _HOLD_RUNNER, "hold_anyio_runner",
                       "a session-scoped autouse async fixture holds AnyIO's runner: one loop for the session",
                       ("pytest",))
    merged = _merge(changes)
    if not merged:
        return "the suite already holds AnyIO's runner for the session"
    return Repair(ctx.finding.cause, merged, why="AnyIO closes its runner's loop when nothing holds it; a session "
                  "fixture holds it, so every test and fixture shares one loop",
                  alternatives="`await engine.dispose()` at the end of each wider async fixture, or NullPool")


def _merge(changes: list[Change]) -> list[Change]:
    """One change per file: the last text wins (each edit started from the previous one's text)."""
    by_file: dict[str, Change] = {}
    for change in changes:
        first = by_file.get(change.file)
        by_file[change.file] = change if first is None else Change(change.file, change.text, first.line,
                                                                   f"{first.description}; {change.description}")
    return list(by_file.values())


# -- the app's engine and clients ------------------------------------------------------------------------
def _dispose_in_lifespan(ctx: _Context) -> Outcome:
    """TestClient per test: the app's lifespan disposes the import-time engine, on the portal loop it used."""
    engines = []
    for rel in ctx.suite.python_files():
        text = ctx.suite.text(rel) or ""
        for line in text.splitlines():
            head = line.split("=", 1)
            if len(head) == 2 and "create_async_engine(" in head[1] and head[0].strip().isidentifier() \
                    and not line.startswith((" ", "\t")):
                engines.append((rel, head[0].strip()))
    lifespans = [rel for rel in ctx.suite.python_files() if "lifespan" in (ctx.suite.text(rel) or "")
                 and "yield" in (ctx.suite.text(rel) or "")]
    for rel in lifespans:
        text = ctx.suite.text(rel) or ""
        for engine_file, name in engines:
            if engine_file != rel and name not in text:
                continue
            for function in _lifespan_functions(text):
                edited = pyedit.insert_after_yield(text, function, f"await {name}.dispose()")
                if edited is not None:
                    return Repair(ctx.finding.cause, [Change(rel, edited.text, edited.line,
                                                             f"`await {name}.dispose()` after the lifespan's yield")],
                                  why="each TestClient's loop ends with the app's shutdown; disposing the engine "
                                      "there leaves no pooled connection for the next TestClient's loop",
                                  alternatives="`poolclass=NullPool` for the engine in tests, or one TestClient "
                                               "for the session")
    return ("no lifespan function that yields was found beside the import-time engine: dispose the engine at the "
            "app's shutdown, or use NullPool in tests")


def _lifespan_functions(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("async def ") and "lifespan" in stripped:
            names.append(stripped[len("async def "):].split("(", 1)[0])
    return names


def _keyword(callees: frozenset[str], keyword: str, value: str, tests_only: bool, why: str, alternatives: str,
             none: str) -> Callable[[_Context], Outcome]:
    def repair(ctx: _Context) -> Outcome:
        files = ctx.suite.python_files(tests_only=tests_only)
        changes = ctx.suite.edit_each(files, lambda text: pyedit.set_call_keyword(text, callees, keyword, value))
        if not changes:
            return none
        return Repair(ctx.finding.cause, changes, why=why, alternatives=alternatives)

    return repair


_expire = _keyword(frozenset({"async_sessionmaker", "sessionmaker"}), "expire_on_commit", "False", False,
                   "attributes stay loaded after commit, so reading one needs no I/O outside await",
                   "`await session.refresh(obj)` after commit, `AsyncAttrs.awaitable_attrs`, eager loading",
                   "every sessionmaker already sets expire_on_commit: the attribute is loaded lazily (a relationship), "
                   "which eager loading or awaitable_attrs must fix, a design choice kit does not make")
_join = _keyword(frozenset({"AsyncSession", "Session", "async_sessionmaker", "sessionmaker"}), "join_transaction_mode",
                 '"create_savepoint"', True,
                 "the app's commits and rollbacks become savepoints inside the test's outer transaction",
                 "a fresh database per test", "the test sessions already set join_transaction_mode")
_pre_ping = _keyword(frozenset({"create_async_engine", "create_engine"}), "pool_pre_ping", "True", False,
                     "the pool tests each connection on checkout and replaces one the server closed",
                     "`await engine.dispose()` after the server reset", "every engine already sets pool_pre_ping")


def _strict(ctx: _Context) -> Outcome:
    files = [rel for rel in ctx.suite.python_files(tests_only=True) if "async def" in (ctx.suite.text(rel) or "")]
    changes = ctx.suite.edit_each(files, lambda text: pyedit.async_fixture_decorator(text))
    if not changes:
        return "no async fixture with a plain @pytest.fixture decorator was found"
    return Repair(ctx.finding.cause, changes, why="pytest-asyncio runs the fixture in strict mode only when it is "
                  "declared with its own decorator", alternatives="`asyncio_mode = auto` in the ini file")


def _transport(ctx: _Context) -> Outcome:
    files = ctx.suite.python_files(tests_only=True)
    if "unexpected keyword argument 'app'" in (ctx.finding.message or ""):
        changes = ctx.suite.edit_each(files, pyedit.rewrite_asyncclient_app)
        if not changes:
            return "no AsyncClient(app=...) call was found in the tests"
        return Repair(ctx.finding.cause, changes, why="httpx 0.28 removed AsyncClient(app=); ASGITransport is its "
                      "replacement", alternatives="pin httpx<0.28")
    changes = ctx.suite.edit_each(files, wrap_in_lifespan_manager)
    if not changes:
        return ("the app's lifespan state is missing, and no `async with AsyncClient(transport=ASGITransport(...))` "
                "was found to run the lifespan around: wrap the client in asgi_lifespan.LifespanManager")
    return Repair(ctx.finding.cause, changes, why="ASGITransport sends requests only; LifespanManager runs the app's "
                  "startup and shutdown around the client, on the test's loop",
                  alternatives="set the state the lifespan would set in the fixture")


MECHANICAL: dict[str, Callable[[_Context], Outcome]] = {
    **{cause: _one_loop for cause in (
        "module-engine-per-test-loop", "session-engine-function-loop", "mixed-loop-scopes",
        "legacy-event-loop-override", "fixture-loop-scope-mismatch", "session-carried-across-loops",
        "redis-client-per-test-loop", "httpx-client-across-loops")},
    "anyio-runner-loop": _hold_anyio_runner,
    "testclient-per-test-pooled-engine": _dispose_in_lifespan,
    "strict-mode-async-fixture": _strict,
    "expired-attribute-missing-greenlet": _expire,
    "rollback-isolation-leak": _join,
    "terminated-connection": _pre_ping,
    "asgi-client-lifespan": _transport,
}


def plan_repair(finding: Finding, diagnosis: Diagnosis, root: Path) -> Outcome:
    """The repair for one root finding of ``diagnosis`` on the suite copy at ``root``, or why there is none."""
    if finding.cause == UNKNOWN:
        return "kit makes no edit for a failure it cannot explain"
    strategy = MECHANICAL.get(finding.cause)
    if strategy is None:
        try:
            declared = get_scenario(finding.cause).repair
        except ScenarioError:
            declared = {}
        return (declared.get("reason") or "its repair is a design change, not a mechanical edit").strip()
    if finding.cause == "expired-attribute-missing-greenlet" and "library is installed" in (finding.message or ""):
        return "greenlet is missing from the environment: install `sqlalchemy[asyncio]` (an environment change)"
    return strategy(_Context(finding, diagnosis, _Suite(root)))
