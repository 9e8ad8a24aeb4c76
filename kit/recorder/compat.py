"""Observe-only hook wrappers on every pluggy: new-style where it exists (1.1+), old-style before that.

The recorder runs in version environments with pytest 7 on pluggy < 1.1, which has no ``wrapper=True``.
Its observers are written once, new-style (``result = yield; return result``), and :func:`observer`
adapts them to an old-style ``hookwrapper`` only where pluggy refuses the new style: the new style is far
cheaper per call, and the fixture setup observer runs for every fixture of every test.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import pytest

__all__ = ["observer"]

_Function = TypeVar("_Function", bound=Callable[..., Generator[None, Any, Any]])


def observer(function: _Function) -> _Function:
    """A hook wrapper that only observes (``result = yield; return result``): pluggy's new-style wrapper where
    it has one (1.1+, far cheaper per call), else adapted to an old-style ``hookwrapper``. An exception from
    the wrapped hook is left untouched either way."""
    try:
        return pytest.hookimpl(wrapper=True)(function)
    except TypeError:  # pluggy < 1.1
        return pytest.hookimpl(hookwrapper=True)(_old_style(function))


def _old_style(function: _Function) -> _Function:
    """``function`` (a new-style observer) as an old-style hookwrapper generator."""

    @functools.wraps(function)
    def old_style(*args: Any, **kwargs: Any) -> Generator[None, Any, None]:
        observer = function(*args, **kwargs)
        next(observer)
        outcome = yield
        try:
            result = outcome.get_result()
        except BaseException:  # noqa: BLE001 - the hook failed: let the observer's finally blocks run
            observer.close()
            return
        try:
            observer.send(result)
        except StopIteration:
            pass

    # pluggy < 1.1 reads hook arguments with inspect.getfullargspec, which ignores __wrapped__ but not this
    old_style.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
    return old_style  # type: ignore[return-value]
