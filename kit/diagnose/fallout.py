"""Fallout: failures an earlier root explains, and errors that were only logged.

One different-loop failure leaves its connection marked busy, so every later test that checks it out fails
with "another operation is in progress"; a fixture that failed to set up leaves pytest's bare
``AssertionError`` in the tests after it. Reporting those as causes would bury the one cause under its
symptoms, so they become ``secondary`` findings that name their root. Errors asyncio only logs ("Event loop
is closed", "Future exception was never retrieved") never fail a test; they are findings too.
"""

from __future__ import annotations

from kit.common.text import one_line
from kit.diagnose.evidence import BUSY, LOOP_CLOSED, NEVER_RETRIEVED, PENDING, TERMINATED, Evidence, short, texts
from kit.diagnose.model import Finding, new_finding
from kit.run.runner import CaseResult

__all__ = ["secondary_of", "unused_override", "log_findings"]

# A fixture that failed to set up under these leaves pytest's bare AssertionError in the tests after it.
_SETUP_CAUSES = ("fixture-loop-scope-mismatch", "strict-mode-async-fixture")
Secondary = tuple[Finding, str, list[str]] | tuple[None, None, None]


def secondary_of(case: CaseResult, ev: Evidence, roots: list[Finding], loop_roots: list[Finding]) -> Secondary:
    """(root, cause, evidence) when an earlier failure (for the TestClient, a sibling) explains this one,
    else (None, None, None)."""
    order = ev.order
    here = order.get(case.nodeid, 0)
    text = texts(case)
    earlier = [r for r in roots if order.get(r.nodeid, -1) <= here]
    # pytest's bare assert in FixtureDef.execute after a fixture failed to set up
    if short(case.error_type) == "AssertionError" and not (case.message or "").strip() and case.phase == "setup":
        root = next((r for r in earlier if r.cause in _SETUP_CAUSES), None)
        if root is not None:
            return root, root.cause, [f"a bare AssertionError from pytest's fixture machinery: the fixture failed to "
                                      f"set up in {root.nodeid} and is left half-initialised"]
    # the busy connection a different-loop failure left behind
    if BUSY.search(text) or NEVER_RETRIEVED.search(text) or TERMINATED.search(text) or PENDING.search(text):
        crossing = [e for e in ev.cross if e.get("nodeid") == case.nodeid]
        root = _loop_root_for(crossing, ev, loop_roots, order, here)
        if root is not None:
            lines = [f"connection opened on {crossing[0].get('created_on')} checked out again on "
                     f"{crossing[0].get('loop')}" if crossing else "no pool evidence for this test"]
            lines.append(f"fallout of {root.nodeid}: its different-loop failure left the connection marked busy")
            return root, root.cause, lines
    # the TestClient's unused override: the app's own session cannot see the seeded rows
    tc = next((r for r in loop_roots if r.cause == "testclient-loop"), None)
    if tc is not None and _portal_connects(case, ev):
        return tc, tc.cause, [_UNUSED_OVERRIDE]
    # rows that leaked past a rollback-per-test fixture
    leak = next((r for r in roots if r.cause == "rollback-isolation-leak"), None)
    if leak is not None and short(case.error_type) == "AssertionError" and order.get(leak.nodeid, 0) <= here:
        return leak, leak.cause, [f"an assertion on data after {leak.nodeid} ended the test's outer transaction: "
                                  "its commits leaked into this test"]
    return None, None, None


_UNUSED_OVERRIDE = ("this test's request opened its own connection on the TestClient's portal loop: the app did not "
                    "use the test's session (a dependency override that never applies)")


def _portal_connects(case: CaseResult, ev: Evidence) -> list[dict]:
    """Connections opened during ``case`` in a thread other than pytest's: a sync TestClient's portal loop."""
    return [e for e in ev.connects.values()
            if e.get("nodeid") == case.nodeid and e.get("thread") not in (None, ev.session_thread)]


def unused_override(case: CaseResult, ev: Evidence) -> tuple[str, list[str], list[str]] | None:
    """The TestClient's unused override as a root, when no different-loop failure shows it (each test alone on an
    xdist worker; the first test of a run): a data assertion fails in a test whose async fixtures ran on its own
    loop, while the app behind the sync TestClient opened a connection of its own on the portal thread."""
    if short(case.error_type) != "AssertionError" or case.phase != "call" or not case.fixture_loops:
        return None
    portal = [e for e in _portal_connects(case, ev) if e.get("phase") == "call"]
    if not portal:
        return None
    loops = ", ".join(sorted(set(case.fixture_loops.values())))
    return "testclient-loop", [
        f"its fixtures ran on {loops} in pytest's thread; during the call the app opened a connection in thread "
        f"'{portal[0].get('thread')}' on {portal[0].get('loop')}", _UNUSED_OVERRIDE], ["threads", "pool"]


def _loop_root_for(crossing: list[dict], ev: Evidence, loop_roots: list[Finding], order: dict[str, int],
                   here: int) -> Finding | None:
    """The different-loop root whose connection this test reused, else the latest one before it (else the first)."""
    conns = {str(e.get("conn")) for e in crossing}
    for root in loop_roots:
        if any(str(e.get("conn")) in conns for e in ev.cross if e.get("nodeid") == root.nodeid):
            return root
    return next((r for r in loop_roots if order.get(r.nodeid, -1) <= here), loop_roots[0] if loop_roots else None)


def log_findings(ev: Evidence, loop_roots: list[Finding], context: str | None = None) -> list[Finding]:
    """Errors only logged ('Event loop is closed', 'Future exception was never retrieved'): fallout of the first
    different-loop root when there is one, else one ``loop-closed-dispose`` finding of their own."""
    extra: list[Finding] = []
    for log in ev.logs:
        text = f"{log.get('message')}\n{log.get('error_type')}: {log.get('error_message')}"
        if not (LOOP_CLOSED.search(text) or NEVER_RETRIEVED.search(text)):
            continue
        nodeid = log.get("nodeid") or "(session)"
        case = CaseResult(nodeid, phase=log.get("phase") or "log", error_type=log.get("error_type"),
                          message=one_line(text, 300))
        during = f" during {log.get('phase')}" if log.get("phase") else ""
        line = (f"logged by {log.get('logger')}{during} (pytest reported no error for it): "
                f"{one_line(log.get('message'), 100)} ({log.get('error_message')})")
        if loop_roots:
            root = loop_roots[0]
            extra.append(new_finding(case, root.cause, [line, f"fallout of {root.nodeid}: a connection bound to "
                                                              "another loop could not be closed cleanly"],
                                     root=root.nodeid, basis=["log", "fallout"], context=context))
        elif LOOP_CLOSED.search(text) and not any(f.cause == "loop-closed-dispose" for f in extra):
            extra.append(new_finding(case, "loop-closed-dispose", [
                line, "a pooled connection outlived the loop it was opened on and was closed from another loop; "
                      "the test still passed"], basis=["log"], context=context))
    return extra
