"""Repairs that give the suite's loop-bound objects one loop, by the means the installed versions have.

Under pytest-asyncio every test and fixture goes on the session's loop: the ini options from 0.26, the fixture option
and a session loop marker added at collection on 0.24-0.25, a session-scoped ``event_loop`` before 0.23 (the way
each line shares a loop; an option a line ignores would change nothing, and ``loop_scope=`` is a TypeError before
0.24). It changes configuration, not the application; NullPool and a per-test engine are named as alternatives.
Under AnyIO's plugin a session fixture holds the runner; sync tests that each start a TestClient get the engine
disposed at the app's shutdown.
"""

from __future__ import annotations

from packaging.version import Version

from kit.diagnose.evidence import runner_context
from kit.diagnose.repair import cfgedit, pyedit
from kit.diagnose.repair.model import Change, Context, Outcome, Repair, merge

__all__ = ["one_loop", "hold_anyio_runner", "dispose_in_lifespan", "SESSION_SCOPES"]

SESSION_SCOPES = {"asyncio_default_fixture_loop_scope": "session", "asyncio_default_test_loop_scope": "session"}



# -- one loop for everything ----------------------------------------------------------------------------
def one_loop(ctx: Context) -> Outcome:
    runner = runner_context(ctx.config)
    if runner == "anyio":
        return hold_anyio_runner(ctx)
    if runner == "sync":
        return dispose_in_lifespan(ctx)
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
    elif installed >= Version("0.23"):
        # measured with 0.23.8: a session event_loop, the session marker, or both, leave function-scoped async
        # fixtures on a loop of their own (pytest-asyncio #706, fixed by 0.24's loop_scope): no edit is proven
        return (f"pytest-asyncio {installed} runs function-scoped async fixtures on a loop of their own whatever loop "
                "the test runs on, so no option puts every test and fixture on one loop: upgrade pytest-asyncio to "
                ">= 0.24 (then kit fix can repair it), or give the test engine `poolclass=NullPool`")
    else:  # before 0.23 a session-scoped event_loop fixture is pytest-asyncio's own way to share one loop
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
    """kit fix: one event loop for the whole session (pytest-asyncio < 0.23)."""
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


def _append(ctx: Context, rel: str, block: str, name: str, description: str, imports: tuple[str, ...]) -> list[Change]:
    text = ctx.suite.text(rel) or ""
    edited = pyedit.append_block(text, block)
    if edited is None:
        return []
    new = edited.text
    for module in imports:
        new = pyedit.ensure_import(new, module)
    line = next((i for i, row in enumerate(new.splitlines(), 1) if f"def {name}(" in row), edited.line)
    ctx.suite.remember(rel, new)
    return [Change(rel, new, line, description)]


def _drop_event_loop_fixtures(ctx: Context) -> list[Change]:
    """The ``event_loop`` fixtures pytest-asyncio >= 1.0 ignores: dead code that reads as if it shared a loop."""
    files = [rel for rel in ctx.suite.python_files(tests_only=True) if "def event_loop" in (ctx.suite.text(rel) or "")]

    return ctx.suite.edit_each(
        files, lambda text: pyedit.without_unused_import(pyedit.remove_function(text, "event_loop"), "asyncio"))


def hold_anyio_runner(ctx: Context) -> Outcome:
    conftest = ctx.suite.root_conftest(ctx.test_file)
    changes: list[Change] = []
    defined = [rel for rel in ctx.suite.python_files(tests_only=True)
               if "def anyio_backend" in (ctx.suite.text(rel) or "")]
    if defined:
        changes += ctx.suite.edit_each(defined, lambda text: pyedit.fixture_keyword(text, "anyio_backend", "scope",
                                                                                     '"session"'))
        for change in changes:
            ctx.suite.remember(change.file, change.text)
    else:
        changes += _append(ctx, conftest, _SESSION_BACKEND, "anyio_backend", "a session-scoped anyio_backend",
                           ("pytest",))
    changes += _append(ctx, conftest, _HOLD_RUNNER, "hold_anyio_runner",
                       "a session-scoped autouse async fixture holds AnyIO's runner: one loop for the session",
                       ("pytest",))
    merged = merge(changes)
    if not merged:
        return "the suite already holds AnyIO's runner for the session"
    return Repair(ctx.finding.cause, merged, why="AnyIO closes its runner's loop when nothing holds it; a session "
                  "fixture holds it, so every test and fixture shares one loop",
                  alternatives="`await engine.dispose()` at the end of each wider async fixture, or NullPool")


# -- the app's engine and clients ------------------------------------------------------------------------
def dispose_in_lifespan(ctx: Context) -> Outcome:
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


