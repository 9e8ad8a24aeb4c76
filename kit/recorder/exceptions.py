"""Exceptions as short, readable text: the type's dotted name, the message, the cause chain, the user's frames.

A report event must say what failed in terms a user recognises (``sqlalchemy.exc.InterfaceError``, the
test file's line) without the pytest/pluggy/asyncio machinery in between, and must stay small: these
helpers decide what of an exception goes into the record. They run only for failures, never per test.
"""

from __future__ import annotations

import os
import re
import traceback
from types import TracebackType

from kit.recorder.text import MAX_MESSAGE, mask

__all__ = ["type_name", "readable_message", "exception_chain", "user_frames", "collect_error_type"]

# Frames from these directories are machinery between the user's code and the failure.
_MACHINERY = ("/_pytest/", "/pluggy/", "/asyncio/", "/pytest_asyncio/")
_COLLECT_ERROR = re.compile(r"^E\s+([A-Za-z_][\w.]*(?:Error|Exception|Exit))\b", re.M)


def type_name(exc_type: type) -> str:
    """The exception type's name as a user would import it (builtins and ``__main__`` unqualified)."""
    module = exc_type.__module__
    return exc_type.__qualname__ if module in ("builtins", "__main__") else f"{module}.{exc_type.__qualname__}"


def readable_message(exc: BaseException) -> str:
    """``str(exc)``, except where that is unreadable: a fixture lookup error is a tuple of internals."""
    argname = getattr(exc, "argname", None)
    if type(exc).__name__ == "FixtureLookupError" and argname:
        return f"fixture '{argname}' not found" + (f": {exc.msg}" if getattr(exc, "msg", None) else "")
    return str(exc)


def exception_chain(exc: BaseException | None) -> list[dict[str, str]]:
    """``exc`` and its causes/contexts as ``{type, message}`` (at most six, each masked and bounded): the
    root cause of a loop conflict is often two ``raise ... from`` levels below what pytest shows."""
    chain: list[dict[str, str]] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(chain) < 6:
        seen.add(id(exc))
        chain.append({"type": type_name(type(exc)), "message": mask(str(exc))[:MAX_MESSAGE]})
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return chain


def user_frames(tb: TracebackType | None) -> list[str]:
    """The last few frames outside pytest/pluggy/asyncio internals: where the user's code was."""
    keep = []
    for frame in traceback.extract_tb(tb):
        if any(part in frame.filename for part in _MACHINERY):
            continue
        keep.append(f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}")
    return keep[-4:]


def collect_error_type(text: str) -> str:
    """The exception name in a collection error's text (the last ``E   Name: message`` line): a collection
    report carries only pytest's rendered text, not the exception."""
    names = _COLLECT_ERROR.findall(text)
    return names[-1] if names else "CollectionError"
