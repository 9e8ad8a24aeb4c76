"""Notes: latent problems a run shows that fail nothing, reported beside the findings.

Engines never disposed are the common one: asyncpg's ``ResourceWarning: unclosed connection`` and SQLAlchemy's
"The garbage collector is trying to clean up non-checked-in connection" say a connection was dropped without a
clean close. A suite can be green for years that way, and the same engine becomes a loop conflict the day its
connections outlive their loop, so kit says it, but as a note: never a root finding, never exit code 1.
Python shows ResourceWarnings only when asked (``-X dev``, or ``-W default::ResourceWarning`` after ``--``), and
kit never changes a suite's warning filters, so a note appears only where the run showed the warning.
"""

from __future__ import annotations

import re

from kit.common.text import one_line
from kit.diagnose.evidence import UNDISPOSED, Evidence
from kit.diagnose.model import Note

__all__ = ["latent_notes", "killed_early"]

_FIX = ("dispose every engine you create, on the loop that used it: `await engine.dispose()` after the `yield` of "
        "the fixture that made it (or in the app's lifespan shutdown); close raw asyncpg connections and pools "
        "with `await conn.close()` / `await pool.close()`")


def latent_notes(ev: Evidence) -> list[Note]:
    """One note for connections dropped without a clean close, from the warnings and logs the run recorded.

    One dropped asyncpg connection warns three times (its socket, its transport, the connection): only the
    connection's own warning and SQLAlchemy's garbage-collector message count. A warning is raised where the
    garbage collector happened to run, so the note names those tests as where it was seen, not as the culprit."""
    seen: list[tuple[str, str]] = []
    for warning in ev.warnings:
        message = warning.get("message") or ""
        if UNDISPOSED.search(message) and not re.search(r"unclosed (transport|<socket)", message):
            seen.append((warning.get("nodeid") or "(session)",
                         f"{warning.get('category')}: {one_line(message, 100)}"))
    for log in ev.logs:
        text = f"{log.get('message')} {log.get('error_message')}"
        if UNDISPOSED.search(text):
            seen.append((log.get("nodeid") or "(session)", f"logged by {log.get('logger')}: {one_line(text, 100)}"))
    if not seen:
        return []
    where = list(dict.fromkeys(nodeid for nodeid, _ in seen))
    return [Note("undisposed-connections",
                 f"{len(seen)} connection(s) were dropped without a clean close (an engine or pool never disposed, or "
                 f"a connection never returned); first: {seen[0][1]}. The garbage collector found them during the "
                 "tests listed, which are not necessarily the ones that leaked them; more may be dropped at "
                 "interpreter exit, after the run was recorded.", len(seen), where[:10], _FIX)]


def killed_early(run) -> list[Note]:
    """A run killed at its timeout before any test was seen running: nothing to classify, which must not read as
    a clean bill of health (pytest-xdist's workers, or a slow import, can take the whole budget)."""
    if run.outcome != "timeout" or any(c.outcome == "timeout" for c in run.cases):
        return []
    return [Note("killed-before-tests", f"the run was killed at its timeout after {run.duration_s:.0f} s before any "
                 "test was seen running (collection, imports or pytest-xdist's workers took the time): these findings "
                 "cover only what ran", 1, ["(session)"],
                 "Give the run more time (`kit diagnose --timeout SECONDS`), or find what hangs at collection with "
                 "`python -m pytest --collect-only`.")]

