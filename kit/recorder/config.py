"""The ``config`` event: the pytest-asyncio options in force and the versions the run really used.

Which loop a fixture gets depends on ``asyncio_mode`` and the default loop scopes as much as on the code, and
on the pytest-asyncio version reading them; the recorder reports them from inside the run, because a
version environment or a user's virtualenv is not kit's own. Versions come from the one list,
:data:`kit.common.versions.PACKAGES`, read from distribution metadata (nothing is imported).
"""

from __future__ import annotations

from typing import Any

import pytest

from kit.common.versions import PACKAGES, installed_versions

__all__ = ["ASYNCIO_OPTIONS", "asyncio_config", "count_runners"]

# The ini options that decide loop scopes; older pytest-asyncio versions do not know the later ones.
ASYNCIO_OPTIONS = ("asyncio_mode", "asyncio_default_fixture_loop_scope", "asyncio_default_test_loop_scope")


def asyncio_config(config: pytest.Config) -> dict[str, Any]:
    """The pytest-asyncio configuration in force (None for options this version does not know), with
    ``python`` and every package's version (None when not installed)."""
    found: dict[str, Any] = {}
    for name in ASYNCIO_OPTIONS:
        try:
            found[name] = config.getini(name) or None
        except (ValueError, KeyError):
            found[name] = None
    found.update(installed_versions(PACKAGES))
    return found


def count_runners(items: list[pytest.Item]) -> dict[str, int]:
    """How many collected tests each runner drives: ``anyio`` (AnyIO's pytest plugin: the test uses its
    ``anyio_backend`` fixture, which the ``anyio`` mark and ``anyio_mode = auto`` add), ``pytest-asyncio`` (its
    ``asyncio`` mark, which its auto mode adds), ``sync`` (everything else: plain tests, and sync tests that drive
    loops themselves). A fix must fit the runner the failing test used.

    ``get_closest_marker`` walks every parent node's markers for every test (23 µs a test on a 1,000-test module):
    here each parent's marks are read once, and a test's own marks first."""
    counts: dict[str, int] = {}
    parents: dict[int, frozenset[str]] = {}
    for item in items:
        marks = _marks(item, parents)
        anyio = "anyio_backend" in getattr(item, "fixturenames", ()) or "anyio" in marks
        runner = "anyio" if anyio else "pytest-asyncio" if "asyncio" in marks else "sync"
        counts[runner] = counts.get(runner, 0) + 1
    return counts


def _marks(node: Any, parents: dict[int, frozenset[str]]) -> frozenset[str]:
    """The names of the marks on ``node`` and its parents (what ``get_closest_marker`` finds), parents cached."""
    own = frozenset(mark.name for mark in getattr(node, "own_markers", ()))
    parent = getattr(node, "parent", None)
    if parent is None:
        return own
    inherited = parents.get(id(parent))
    if inherited is None:
        inherited = parents[id(parent)] = _marks(parent, parents)
    return own | inherited if own else inherited
