"""Which event loop ran what: loops labelled ``L1``, ``L2``... and noted per test phase and per fixture.

pytest-asyncio (every version) and ``asyncio.run`` drive coroutines through
``BaseEventLoop.run_until_complete``, so wrapping that one method (and any override of it on a loop class:
nest_asyncio's) sees every loop a suite uses without knowing which pytest-asyncio is installed. Labels are
handed out in order of first use and never reused (a collected loop's label is not given to a new one), so a
record can say "fixture engine ran on L1, the test on L3" and mean two different loops.

The wrapper runs on every ``run_until_complete`` call: :meth:`LoopTracker.label` answers the loop asked about
last time from a weak reference before touching the weak dictionary, and nothing here adds a call per event.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["FixtureSetup", "LoopTracker", "patch_run_until_complete"]


class LoopTracker:
    """Loop labels and the loops used by the current phase and by each fixture being set up.

    The recorder is one (it subclasses this) rather than holding one, so the hot path keeps its single
    attribute lookup per call."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self._phase_loops: dict[str, list[str]] = {}
        self._fixture_stack: list[FixtureSetup] = []  # the fixtures set up in this phase, innermost last
        self._labels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, str] = weakref.WeakKeyDictionary()
        self._label_count = 0  # a counter, not len(): a collected loop's label must never be handed to a new loop
        self._last_label: tuple[Callable[[], Any], str | None] = (lambda: None, None)

    def label(self, loop: asyncio.AbstractEventLoop | None) -> str | None:
        """``loop``'s label, giving it the next one on first sight (None for None or an unhashable loop)."""
        if loop is None:
            return None
        last, label = self._last_label
        if last() is loop:  # the common case: the loop asked about last time (a weak reference, never kept alive)
            return label
        try:
            if loop not in self._labels:
                self._label_count += 1
                self._labels[loop] = f"L{self._label_count}"
            label = self._labels[loop]
            self._last_label = (weakref.ref(loop), label)
            return label
        except TypeError:
            return None

    def labelled_loops(self) -> list[tuple[asyncio.AbstractEventLoop, str]]:
        """Every loop still alive with its label, in a list (safe while loops are collected)."""
        return list(self._labels.items())

    def current_loop_label(self) -> str | None:
        """The running loop's label, None outside a loop (a sync engine's events)."""
        try:
            return self.label(asyncio.get_running_loop())
        except RuntimeError:
            return None

    def note_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Record that ``loop`` ran in the current phase and under every fixture being set up. A loop another
        thread runs outside a test phase (a notebook kernel's, an ASGI server's) is labelled but not noted."""
        label = self.label(loop)
        if label is None or threading.current_thread() is not threading.main_thread() and self.phase is None:
            return
        if self.phase is not None:
            used = self._phase_loops.setdefault(self.phase, [])
            if label not in used:
                used.append(label)
        for setup in self._fixture_stack:
            if not setup.ended and label not in setup.loops:
                setup.loops.append(label)

    # Fixture setups are followed without a hook wrapper (a generator per fixture of every test): a plain hook puts
    # each setup on the stack as it begins, and pytest marks its end, returned or raised, by setting the fixture's
    # ``cached_result``. Setups do not span phases, and nest only through ``request.getfixturevalue``.
    def fixture_setup_began(self, fixturedef: Any) -> None:
        """A fixture's setup begins (pytest_fixture_setup): the setups already ended are settled first."""
        self.settle_fixtures()
        self._fixture_stack.append(FixtureSetup(fixturedef))

    def settle_fixtures(self, phase_ended: bool = False) -> None:
        """Hand every ended setup on top of the stack to :meth:`fixture_set_up`, innermost first (all of them when
        the phase ended). Called only from the session's own thread: the stack is popped nowhere else."""
        stack = self._fixture_stack
        while stack and (phase_ended or stack[-1].ended):
            self.fixture_set_up(stack.pop())

    def fixture_set_up(self, setup: FixtureSetup) -> None:
        """A fixture's setup ended, having run the loops in ``setup.loops`` (the recorder writes it down)."""

    def current_fixture(self) -> tuple[str | None, str | None]:
        """(name, scope) of the innermost fixture being set up, (None, None) outside fixture setups."""
        for setup in reversed(self._fixture_stack):
            if not setup.ended:
                return setup.fixturedef.argname, setup.fixturedef.scope
        return None, None


class FixtureSetup:
    """One fixture's setup: its pytest ``FixtureDef`` and the labels of the loops run during it, in order."""

    __slots__ = ("fixturedef", "loops")

    def __init__(self, fixturedef: Any) -> None:
        self.fixturedef, self.loops = fixturedef, []

    @property
    def ended(self) -> bool:
        """Whether the setup returned or raised: pytest then sets ``cached_result`` (None while it runs)."""
        return self.fixturedef.cached_result is not None


def _loop_classes() -> list[type]:
    """``BaseEventLoop`` and every subclass that defines its own ``run_until_complete``: nest_asyncio's ``apply()``
    replaces it on the loop's class (``_UnixSelectorEventLoop``), and that override never calls the base one."""
    found, todo = [], [asyncio.BaseEventLoop]
    while todo:
        cls = todo.pop()
        if cls is asyncio.BaseEventLoop or "run_until_complete" in cls.__dict__:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def patch_run_until_complete(note_loop: Callable[[asyncio.AbstractEventLoop], None]) -> Callable[[], None]:
    """Call ``note_loop(loop)`` before every ``run_until_complete`` of asyncio's loops (``BaseEventLoop``'s and any
    override of it, nest_asyncio's included); returns the undo."""
    originals: list[tuple[type, Any, Any]] = []
    for cls in _loop_classes():
        original = cls.__dict__["run_until_complete"]

        def run_until_complete(loop: asyncio.BaseEventLoop, future: Any, _original: Any = original) -> Any:
            note_loop(loop)
            return _original(loop, future)

        originals.append((cls, original, run_until_complete))
        cls.run_until_complete = run_until_complete  # type: ignore[attr-defined]

    def undo() -> None:
        for cls, original, wrapper in originals:
            if cls.__dict__.get("run_until_complete") is wrapper:  # not replaced since (nest_asyncio in a test)
                cls.run_until_complete = original  # type: ignore[attr-defined]

    return undo
