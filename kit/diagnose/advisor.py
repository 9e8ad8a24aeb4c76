"""The upgrade advisor: which of a suite's fixtures and settings break on the next pytest-asyncio, SQLAlchemy,
httpx or redis-py release line, backed by the version matrix.

Why: the loop/session conflicts are mostly cliffs between releases. A suite that is green today can turn red
on an upgrade without a line of it changing (a legacy ``event_loop`` override is silently ignored by
pytest-asyncio 1.x), and the usual fix for one version is the bug of another (``loop_scope=`` is a TypeError
before 0.24, the ini loop scopes are ignored before 0.24/0.26). The advisor reads what a recorded run says is
in force (the recorder's ``config`` event: ``asyncio_mode`` and the default loop scopes) and the suite's
conftest.py, test modules and pytest configuration, through the scanner ``kit diagnose`` shares
(:mod:`kit.diagnose.scan`), for the patterns that have a cliff; each piece of advice cites the stored matrix
cells (``kit matrix``, read through :mod:`kit.catalogue.cells`) that show the cliff on this machine, or says it
was not measured. Where the cliffs are (release lines, the one a rule breaks on, the cells that show it) is
:mod:`kit.diagnose.cliffs`.

Everything here is pure reading: no subprocess, no import of the user's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kit.diagnose.cliffs import LINES, matrix_evidence, matrix_rows, status
from kit.diagnose.cliffs import parse_version as _version
from kit.diagnose.requirements import declared_requirements, extras_bringing
from kit.diagnose.rules import LOOP_CAUSES
from kit.diagnose.scan import INI_OPTIONS, Pattern, mentions, scan_suite

if TYPE_CHECKING:
    from kit.catalogue.cells import MatrixCell
    from kit.run.runner import PytestRun

# Pattern and scan_suite are re-exported: the scanner moved to kit.diagnose.scan, which diagnose shares.
__all__ = ["Advice", "Pattern", "advise", "scan_suite", "render_advice"]

# SQLAlchemy 2.1's extras that bring greenlet, when its metadata cannot be read here
_ASYNC_EXTRAS = frozenset({"asyncio", "postgresql-asyncpg", "aiomysql", "aioodbc", "asyncmy", "aiosqlite"})
_SEVERITY_ORDER = {"broken-now": 0, "breaks-on-upgrade": 1, "deprecated": 2, "info": 3}


@dataclass
class Advice:
    """One fixture or setting that breaks (or will) on a release line, and what to do about it."""

    rule: str                       # the catalogue entry (or rule name) this is about
    severity: str                   # broken-now | breaks-on-upgrade | deprecated | info
    package: str                    # the package whose release line matters
    breaks_on: str                  # e.g. "pytest-asyncio 1.0.0" (the first line where it breaks)
    where: list[str]                # file:line of each pattern behind it
    message: str                    # what happens there
    fix: str
    evidence: list[str] = field(default_factory=list)   # matrix cells cited ("entry/variant @ versions: outcome")
    measured: bool = False          # True when at least one matrix cell on this machine backs it

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def place(self) -> str:
        """Where to look: the files and lines, or the configuration for an option left unset."""
        return ", ".join(self.where) or "the pytest configuration (an option left unset)"

    def as_text(self) -> str:
        lines = [f"[{self.severity}] {self.rule}: {self.message}", f"    where: {self.place}",
                 f"    breaks on: {self.breaks_on}", f"    fix: {self.fix}"]
        lines += [f"    measured: {cite}" for cite in self.evidence] or [
            "    measured: not in the matrix results given (run `kit matrix` to see it here)"]
        return "\n".join(lines)


# -- rules ------------------------------------------------------------------------------------------------
def advise(path: Path | str, config: dict | None, installed_versions: dict | None,
           matrix_results: Iterable[MatrixCell | dict] | None = None, *, run: PytestRun | None = None,
           causes: Iterable[str] = ()) -> list[Advice]:
    causes = set(causes)
    """Which of the suite's fixtures and settings break on the next pytest-asyncio / SQLAlchemy / httpx / redis line.

    ``path``: the suite (a directory, or one conftest.py). ``config``: the recorder's ``config`` event of a
    recorded run (``PytestRun.config``: asyncio_mode, default loop scopes, versions), or None. ``installed_versions``:
    package -> version (``kit.common.versions.collect_versions()``, or the run's config), or None. ``matrix_results``:
    ``kit matrix`` cells (MatrixCell objects or the JSON rows) to cite; None reads the latest matrix run from the
    records store, if any. ``run`` (the recorded run beside the advice) and ``causes`` (its findings' causes) keep the
    advice true to what ran: nothing is ``broken-now`` that the run shows working, fixtures the run saw handled by
    a plugin are not "left to pytest", and pytest-asyncio's rules stay out of a suite it does not run (AnyIO's
    plugin, or sync tests). Returns the advice most urgent first.
    """
    config = dict(config or {})
    versions = {k.lower(): v for k, v in {**{k: config.get(k) for k in ("pytest", "pytest-asyncio", "sqlalchemy",
                                                                          "asyncpg")},
                                          **(installed_versions or {})}.items() if v}
    if matrix_results is None:
        try:
            from kit.catalogue.cells import load_matrix_cells

            matrix_results = load_matrix_cells()
        except Exception:  # noqa: BLE001 - no store, no pandas: advise without citations
            matrix_results = []
    rows = matrix_rows(matrix_results)
    seen_pa = sorted({r["pytest_asyncio"] for r in rows if r.get("pytest_asyncio")}, key=lambda v: _version(v) or 0)
    seen_sa = sorted({r["sqlalchemy"] for r in rows if r.get("sqlalchemy")}, key=lambda v: _version(v) or 0)
    patterns = scan_suite(path)
    by_kind: dict[str, list[Pattern]] = {}
    for p in patterns:
        by_kind.setdefault(p.kind, []).append(p)
    ini = {p.name: p.detail for p in by_kind.get("ini_option", [])}
    settings = {name: config.get(name) if config.get(name) is not None else ini.get(name) for name in INI_OPTIONS}
    mode = (settings["asyncio_mode"] or "strict").lower()
    pa_now = _version(versions.get("pytest-asyncio"))
    advice: list[Advice] = []
    # Does pytest-asyncio run (or is it meant to run) this suite? Its marks, fixtures, options or event_loop in the
    # source say so; the run says which plugin ran the tests; AnyIO's marks alone mean AnyIO.
    meant = bool(ini or any(by_kind.get(k) for k in ("uses_pytest_asyncio", "event_loop_override",
                                                       "event_loop_request")))
    runners = config.get("runners")
    if runners is not None:
        uses_pytest_asyncio = bool(runners.get("pytest-asyncio")) or (meant and not runners.get("anyio"))
    else:
        uses_pytest_asyncio = meant or not by_kind.get("uses_anyio")
    if not uses_pytest_asyncio:
        by_kind = {k: v for k, v in by_kind.items() if k in ("expire_on_commit", "asyncclient_app", "warnings_error")
                   or k.startswith("redis_")}
    handled = {str(e.get("fixture")) for e in (run.events if run else []) if e.get("event") == "fixture"}

    def add(rule, package, spec, where, message, fix, scenario=None, variant="broken", cite_spec=None,
            severity=None, extra=None, breaks_on=None) -> None:
        found = status(package, versions, spec, extra if extra is not None else seen_pa) if spec else None
        if spec and found is None:
            return
        level, line = found if found else (severity or "info", breaks_on or "any version")
        if severity and found:
            level = severity if level == "breaks-on-upgrade" else level
        evidence = matrix_evidence(rows, scenario, variant, cite_spec, versions) if scenario else []
        advice.append(Advice(rule, level, package, line, [p.where for p in where], message, fix, evidence,
                             bool(evidence)))

    # 1. legacy event_loop override: works on 0.21, deprecated 0.23-0.25, silently ignored on 1.x.
    if by_kind.get("event_loop_override"):
        add("legacy-event-loop-override", "pytest-asyncio", ">=1.0", by_kind["event_loop_override"],
            "the `event_loop` fixture override is never requested by pytest-asyncio 1.x: each test gets its own loop "
            "again, and a pooled engine fails with 'attached to a different loop' from the second test on",
            "delete the override; set `asyncio_default_fixture_loop_scope = session` and "
            "`asyncio_default_test_loop_scope = session` in pytest.ini (these need pytest-asyncio >= 0.26: "
            "upgrade and change the config in the same step)",
            "legacy-event-loop-override", "broken", cite_spec=">=1.0")
        if pa_now is not None and pa_now < _version("1.0"):
            fixed = matrix_evidence(rows, "legacy-event-loop-override", "fixed", ">=0.26", versions)
            if fixed:
                advice[-1].evidence += [f"the fix, on both sides of 0.26: {c}" for c in fixed]
    # 2. requesting event_loop: "fixture 'event_loop' not found" on 1.x.
    if by_kind.get("event_loop_request"):
        add("event-loop-fixture-removed", "pytest-asyncio", ">=1.0", by_kind["event_loop_request"],
            "these request the `event_loop` fixture, which pytest-asyncio 1.0 removed: ERROR `fixture 'event_loop' "
            "not found` (unless the suite defines its own)",
            "use `asyncio.get_running_loop()` inside the async test or fixture instead of requesting `event_loop`")
    # 3. loop_scope= before 0.24 is a TypeError.
    if by_kind.get("loop_scope"):
        add("loop-scope-needs-0.24", "pytest-asyncio", "<0.24", by_kind["loop_scope"],
            "`loop_scope=` arrived in pytest-asyncio 0.24: before it, `@pytest_asyncio.fixture(loop_scope=...)` is "
            "`TypeError: fixture() got an unexpected keyword argument 'loop_scope'` at collection",
            "require pytest-asyncio >= 0.24 (pin it) before using `loop_scope=`; on older versions the "
            "session-scoped `event_loop` override is the way", "session-engine-function-loop", "fixed",
            cite_spec="<0.24")
        if advice and advice[-1].rule == "loop-scope-needs-0.24" and advice[-1].severity == "breaks-on-upgrade":
            advice.pop()  # only downgrades break it: not advice for an upgrade
    # 4. ini loop scopes that the installed version does not know are silently ignored.
    for option, since in (("asyncio_default_fixture_loop_scope", "0.24"), ("asyncio_default_test_loop_scope", "0.26")):
        where = [p for p in by_kind.get("ini_option", []) if p.name == option]
        if where and pa_now is not None and pa_now < _version(since):
            advice.append(Advice(
                "ini-loop-scope-ignored", "broken-now", "pytest-asyncio", f"pytest-asyncio {pa_now} (installed)",
                [p.where for p in where],
                f"`{option}` is only known from pytest-asyncio {since}: pytest {versions.get('pytest') or ''} only "
                "warns 'Unknown config option' and the loop scope it asks for does not apply",
                f"upgrade pytest-asyncio to >= {since} (then the option works), or keep the old mechanism until then",
                matrix_evidence(rows, "legacy-event-loop-override", "fixed", f"<{since}", versions)))
            advice[-1].measured = bool(advice[-1].evidence)
    # 5. wide-scoped async fixtures without loop_scope, against the default fixture loop scope.
    wide = by_kind.get("wide_async_fixture", [])
    if run is not None and not LOOP_CAUSES.intersection(causes):  # the run saw them set up, and no loop conflict
        wide = [p for p in wide if p.name not in handled]
    default_scope = settings["asyncio_default_fixture_loop_scope"]
    if wide:
        if default_scope == "function":
            add("fixture-loop-scope-mismatch", "pytest-asyncio", ">=0.24", wide,
                "wider-scoped async fixtures without `loop_scope` ask for the function loop "
                "(`asyncio_default_fixture_loop_scope = function`): ERROR at setup, `ScopeMismatch ... "
                "_function_scoped_runner`, then bare AssertionErrors",
                "give each one `loop_scope=` equal to its scope (e.g. `loop_scope=\"session\"`), or set "
                "`asyncio_default_fixture_loop_scope = fixture-scope` (1.5)", "fixture-loop-scope-mismatch",
                "broken", cite_spec=">=0.24")
        elif default_scope is None and (pa_now is None or pa_now >= _version("0.24")):
            add("fixture-loop-scope-mismatch", "pytest-asyncio", None, wide,
                "`asyncio_default_fixture_loop_scope` is unset, so these wider-scoped async fixtures run on a loop of "
                "their own scope (with a deprecation warning); pytest-asyncio plans to make `function` the default "
                "(pytest-asyncio issue #924), and then they fail at setup with "
                "`ScopeMismatch ... _function_scoped_runner`",
                "give each one an explicit `loop_scope=` and set `asyncio_default_fixture_loop_scope` in pytest.ini "
                "now, so the next release cannot change it", "fixture-loop-scope-mismatch", "broken",
                cite_spec=">=0.24", severity="deprecated",
                breaks_on="the pytest-asyncio release that makes `function` the default (issue #924)")
        add("session-engine-function-loop", "pytest-asyncio", ">=0.23", wide,
            "from pytest-asyncio 0.23 a wider-scoped async fixture runs on its own loop while each test runs on a "
            "function loop: an engine or connection it yields fails in the tests with 'attached to a different "
            "loop' (on 0.21 the same fixture needs a session `event_loop` override instead)",
            "`loop_scope=\"session\"` on the fixture and the tests on the session loop "
            "(`asyncio_default_test_loop_scope = session`, >= 0.26)", "session-engine-function-loop", "broken",
            cite_spec=">=0.23")
        if settings["asyncio_default_test_loop_scope"] == "session" and advice and \
                advice[-1].rule == "session-engine-function-loop" and advice[-1].severity == "broken-now":
            advice.pop()  # the tests already share the session loop
    elif (default_scope is None and pa_now is not None and pa_now >= _version("0.24")
          and by_kind.get("async_def")):  # a suite without coroutines is not affected by loop scopes
        advice.append(Advice("unset-default-fixture-loop-scope", "deprecated", "pytest-asyncio",
                             "the release that makes `function` the default (pytest-asyncio issue #924)", [],
                             "`asyncio_default_fixture_loop_scope` is unset (pytest-asyncio warns about it); its "
                             "default is planned to become `function`",
                             "set it explicitly in pytest.ini (`function` unless a fixture needs a wider loop)"))
    # 6. strict mode + plain @pytest.fixture on an async def.
    # a fixture the run saw on a loop was run by a plugin (AnyIO's, typically): not left to pytest
    unhandled = [p for p in by_kind.get("plain_async_fixture", []) if p.name not in handled]
    if unhandled and mode == "strict":
        add("strict-mode-async-fixture", "pytest-asyncio", None, unhandled,
            "async fixtures declared with plain `@pytest.fixture` in strict mode are not run by pytest-asyncio: "
            "pytest 9 + pytest-asyncio 1.x make it an ERROR ('requested an async fixture ... with no plugin or "
            "hook that handled it'); older versions hand the test an un-awaited coroutine/async generator",
            "use `@pytest_asyncio.fixture`, or `asyncio_mode = auto`", "strict-mode-async-fixture", "broken",
            severity="broken-now")
    # 7. SQLAlchemy 2.1 no longer installs greenlet unless asked for with the asyncio extra.
    advice += _greenlet_advice(Path(path), versions, seen_sa)
    # 8. expire_on_commit left True with AsyncSession.
    if by_kind.get("expire_on_commit"):
        add("expired-attribute-missing-greenlet", "sqlalchemy", None, by_kind["expire_on_commit"],
            "sessions made with `expire_on_commit` left True: reading an attribute after `commit()` raises "
            "`MissingGreenlet` on every SQLAlchemy 2.x (2.1 words it 'await_()')",
            "`async_sessionmaker(engine, expire_on_commit=False)`, or `await session.refresh(obj)` after commit",
            "expired-attribute-missing-greenlet", "broken", severity="info")
    # 9. httpx 0.28 removed AsyncClient(app=).
    if by_kind.get("asyncclient_app"):
        add("asgi-client-lifespan", "httpx", ">=0.28", by_kind["asyncclient_app"],
            "`AsyncClient(app=...)` was removed in httpx 0.28: `TypeError: ... unexpected keyword argument 'app'`",
            "`AsyncClient(transport=ASGITransport(app=app), base_url=\"http://test\")`, inside "
            "`asgi_lifespan.LifespanManager(app)` if the app sets state in its lifespan", extra=[])
    # 10-13. redis-py's asyncio client: close() deprecated for aclose() (5.0.1), which older lines lack.
    advice += _redis_advice(Path(path), by_kind, versions)
    if run is not None:
        _true_to_the_run(advice, run, causes)
    advice.sort(key=lambda a: _SEVERITY_ORDER.get(a.severity, 9))
    return advice


def _greenlet_advice(root: Path, versions: dict, seen_sa: list[str]) -> list[Advice]:
    """A ``sqlalchemy`` requirement without the ``asyncio`` extra, no ``greenlet`` declared beside it, a range that
    admits 2.1, in a project that uses SQLAlchemy's asyncio extension. Broken now only where the suite's
    interpreter has SQLAlchemy >= 2.1 and no greenlet; otherwise it breaks on the next fresh install."""
    from packaging.specifiers import SpecifierSet

    declared = declared_requirements(root)
    pulls = extras_bringing("sqlalchemy", "greenlet", _ASYNC_EXTRAS)
    plain = [d for d in declared if d.name == "sqlalchemy" and not pulls.intersection(d.requirement.extras)]
    if not plain or any(d.name == "greenlet" or (d.name == "sqlalchemy" and pulls.intersection(d.requirement.extras))
                        for d in declared):
        return []
    lines = sorted({v for v in (*LINES["sqlalchemy"], *seen_sa, "2.2.0", "3.0.0") if _version(v) >= _version("2.1")},
                   key=_version)
    admits = [d for d in plain if any(SpecifierSet(str(d.requirement.specifier)).contains(v, prereleases=True)
                                      for v in lines)]
    user = mentions(root, ("sqlalchemy.ext.asyncio", "create_async_engine"))
    if not admits or user is None:
        return []
    installed, greenlet = _version(versions.get("sqlalchemy")), versions.get("greenlet")
    message = ("SQLAlchemy 2.1 does not install greenlet by default, and this project uses its asyncio extension "
               f"({user}): AsyncEngine fails with `ImportError ... requires that the Python 'greenlet' library is "
               "installed`")
    if installed is not None and installed >= _version("2.1") and not greenlet:
        severity, line = "broken-now", f"sqlalchemy {installed} (installed, no greenlet)"
    elif installed is not None and installed >= _version("2.1"):
        severity, line = "breaks-on-upgrade", (f"a fresh install of these requirements (greenlet {greenlet} is "
                                               "installed here, but nothing declares it)")
    else:
        severity, line = "breaks-on-upgrade", "sqlalchemy 2.1.0"
    return [Advice("sqlalchemy-asyncio-extra", severity, "sqlalchemy", line, [d.where for d in admits], message,
                   "depend on `sqlalchemy[asyncio]` (or declare greenlet explicitly)")]


def _redis_advice(root: Path, by_kind: dict[str, list[Pattern]], versions: dict) -> list[Advice]:
    """redis-py's asyncio client, measured against a real Redis on 4.2.0, 4.6.0, 5.0.0, 5.0.1, 5.0.2, 5.3.1, 6.4.0,
    7.4.1, 8.0.1 and 8.1.0: ``close()`` and ``auto_close_connection_pool=`` warn from 5.0.1; ``aclose()``,
    ``ConnectionPool.aclose()`` and ``Redis.from_pool()`` are AttributeErrors before 5.0.1; before 5.0.0 ``close()``
    leaves a ``from_url`` client's pool connected. ``connection_pool.disconnect()`` is the same on every line. No
    catalogue entry covers these, so they cite no cells. A DeprecationWarning fails a test only where the suite's
    configuration makes it an error (else the advice is ``deprecated``); an upgrade only reaches the lines the
    project's declared ``redis`` requirements admit."""
    from packaging.specifiers import SpecifierSet

    declared = [d for d in declared_requirements(root) if d.name == "redis" and str(d.requirement.specifier)]
    admits = ",".join(str(d.requirement.specifier) for d in declared) or None
    escalated = by_kind.get("warnings_error", [])  # DeprecationWarnings are errors; below, every warning is
    every = [p for p in escalated if (p.detail.split(":") + ["", ""])[2].rsplit(".", 1)[-1] in ("", "Warning")]

    def fails(filters: list[Pattern]) -> str:
        return (f"an ERROR under this suite's `{filters[0].detail}` warning filter ({filters[0].where})" if filters
                else "an ERROR in a run with `-W error` (or `filterwarnings = error`)")
    installed = _version(versions.get("redis"))
    found: list[Advice] = []

    def warns(rule: str, where: list[Pattern], message: str, fix: str) -> None:
        state = status("redis", versions, ">=5.0.1", [], admits)
        if state:
            level, line = state[0] if escalated else "deprecated", state[1]
            line += " (the installed redis-py is not known here)" if installed is None else ""
            found.append(Advice(rule, level, "redis", line, [p.where for p in where], message, fix))

    # 10. close() is deprecated for aclose() from 5.0.1.
    if closes := by_kind.get("redis_close"):
        own_pool = " (a client given `connection_pool=` leaves that pool open either way: close the pool too)" if any(
            p.detail == "Redis(connection_pool=)" for p in closes) else ""
        warns("redis-close-deprecated", closes,
              "`await client.close()` on a redis.asyncio client warns from redis-py 5.0.1 (`DeprecationWarning: Call "
              f"to deprecated close. (Use aclose() instead)`), {fails(escalated)} at each teardown that calls it",
              "`await client.aclose()` (redis-py >= 5.0.1: declare `redis>=5.0.1` in the same step), or "
              f"`await client.connection_pool.disconnect()`, which warns on no line from 4.2 to 8.1{own_pool}")
    # 11. before 5.0.0, close() leaves a from_url client's pool (and its connection) open.
    leaks = [p for p in by_kind.get("redis_close", []) if p.detail == "from_url"]
    if leaks and installed is not None and installed < _version("5.0.0"):
        found.append(Advice(
            "redis-from-url-close-leak", "broken-now" if every else "info", "redis",
            f"redis {installed} (installed)", [p.where for p in leaks],
            "on redis-py 4.x `close()` does not disconnect the pool of a client made by `from_url` (redis-py #2831): "
            "every test leaves a connection open, collected later on another test's loop (`ResourceWarning: loop is "
            f"closed` in a PytestUnraisableExceptionWarning), {fails(every)} wherever the collection lands "
            "(the run exits 1 even when that is after the last test)",
            "add `await client.connection_pool.disconnect()` (closes it on every line), or upgrade to redis>=5.0.1 "
            "and use `await client.aclose()`"))
    # 12. aclose(), ConnectionPool.aclose() and Redis.from_pool() arrived in 5.0.1.
    if newer := by_kind.get("redis_aclose"):
        calls = ", ".join(f"`{name}()`" for name in dict.fromkeys(p.detail for p in newer))
        message = (f"{calls} arrived in redis-py 5.0.1: before it, `AttributeError: ... has no attribute` at each "
                   "call (the teardown is an ERROR and the connection stays open)")
        older = [v for v in LINES["redis"] if _version(v) < _version("5.0.1") and admits
                 and SpecifierSet(admits).contains(v, prereleases=True)]
        if installed is not None and installed < _version("5.0.1"):
            found.append(Advice("redis-aclose-needs-5.0.1", "broken-now", "redis", f"redis {installed} (installed)",
                                [p.where for p in newer], message, "upgrade to redis>=5.0.1 and declare it"))
        elif older:
            found.append(Advice("redis-aclose-needs-5.0.1", "info", "redis",
                                f"redis {older[-1]} (admitted by {declared[0].where})", [p.where for p in newer],
                                message, "declare `redis>=5.0.1`, the floor these calls need"))
    # 13. auto_close_connection_pool= is deprecated from 5.0.1.
    if auto := by_kind.get("redis_auto_close"):
        warns("redis-auto-close-deprecated", auto,
              "`auto_close_connection_pool=` warns from redis-py 5.0.1 (`DeprecationWarning: \"auto_close_connection_"
              f"pool\" is deprecated`), {fails(escalated)}; on 4.x `from_url(..., auto_close_connection_pool=)` is "
              "a TypeError",
              "drop it (from 5.0.0 a `from_url` client closes its own pool); to own a pool, `Redis.from_pool(pool)` "
              "(>= 5.0.1), or `Redis(connection_pool=pool)` and `await pool.disconnect()` yourself")
    return found


def _true_to_the_run(advice: list[Advice], run: PytestRun, causes: set[str]) -> None:
    """Nothing is ``broken-now`` that the recorded run beside it shows working: without a failing test, or when
    the failures have another cause, such advice becomes ``info`` and says the run passed with it in place."""
    from kit.catalogue.scenario import catalogue

    failing = any(c.outcome in ("failed", "error", "timeout") for c in run.cases)
    known = {s.id for s in catalogue()} if any(a.severity == "broken-now" for a in advice) else set()
    for item in advice:
        if item.severity != "broken-now":
            continue
        if failing and (item.rule not in known or item.rule in causes):
            continue
        item.severity = "info"
        item.message += (" (the recorded run passed with this in place: nothing is broken by it today)"
                         if not failing else " (the run's failures have other causes)")


def render_advice(advice: list[Advice]) -> str:
    """Plain text, most urgent first, for the CLI and for diagnose's report."""
    if not advice:
        return "upgrade advisor: nothing in this suite is known to break on the next release lines."
    return "upgrade advisor:\n" + "\n".join(a.as_text() for a in advice)
