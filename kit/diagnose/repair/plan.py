"""Which repair a cause gets: the smallest change, in the place the cause lives, valid for the installed versions.

One function per kind of repair, chosen by the finding's cause (the loop repairs, shared by every loop-bound cause,
are in :mod:`kit.diagnose.repair.loops`); each reads the suite (a scratch copy, never the user's files) and returns
the files' new texts, or the reason it cannot repair mechanically. Entries whose repair is a design change declare
it in their ``[repair]`` table and are listed as unfixed with that reason; ``unknown`` failures get no edit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kit.catalogue.scenario import get_scenario
from kit.diagnose.model import UNKNOWN, Diagnosis, Finding
from kit.diagnose.repair import pyedit
from kit.diagnose.repair.lifespan import wrap_in_lifespan_manager
from kit.diagnose.repair.loops import dispose_in_lifespan, hold_anyio_runner, one_loop
from kit.diagnose.repair.model import Change, Context, Outcome, Repair, Suite
from kit.errors import ScenarioError

__all__ = ["Change", "Repair", "plan_repair", "MECHANICAL"]


def _keyword(callees: frozenset[str], keyword: str, value: str, tests_only: bool, why: str, alternatives: str,
             none: str) -> Callable[[Context], Outcome]:
    def repair(ctx: Context) -> Outcome:
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


def _declared_async(text: str) -> pyedit.Edited | None:
    """Async fixtures get pytest-asyncio's decorator; an ``import pytest`` that served only the decorators just
    replaced goes with them."""
    return pyedit.without_unused_import(pyedit.async_fixture_decorator(text), "pytest")


def _strict(ctx: Context) -> Outcome:
    files = [rel for rel in ctx.suite.python_files(tests_only=True) if "async def" in (ctx.suite.text(rel) or "")]
    changes = ctx.suite.edit_each(files, _declared_async)
    if not changes:
        return "no async fixture with a plain @pytest.fixture decorator was found"
    return Repair(ctx.finding.cause, changes, why="pytest-asyncio runs the fixture in strict mode only when it is "
                  "declared with its own decorator", alternatives="`asyncio_mode = auto` in the ini file")


def _transport(ctx: Context) -> Outcome:
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


MECHANICAL: dict[str, Callable[[Context], Outcome]] = {
    **{cause: one_loop for cause in (
        "module-engine-per-test-loop", "session-engine-function-loop", "mixed-loop-scopes",
        "legacy-event-loop-override", "fixture-loop-scope-mismatch", "session-carried-across-loops",
        "redis-client-per-test-loop", "httpx-client-across-loops")},
    "anyio-runner-loop": hold_anyio_runner,
    "testclient-per-test-pooled-engine": dispose_in_lifespan,
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
    return strategy(Context(finding, diagnosis, Suite(root)))
