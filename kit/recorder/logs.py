"""Errors that are only logged, never raised: 'Exception closing connection', 'Future exception was never
retrieved', 'Task was destroyed but it is pending'.

Several loop/session conflicts surface only there (a connection garbage-collected on a closed loop, a
task's exception nobody awaited) while the test passes, so the recorder keeps the root logger's ERROR
records as ``log`` events, attributed to the test and phase in progress.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from kit.recorder.events import LOG
from kit.recorder.exceptions import type_name
from kit.recorder.text import MAX_MESSAGE, mask

if TYPE_CHECKING:
    from kit.recorder.plugin import Recorder

__all__ = ["LogCapture", "capture_error_logs"]


class LogCapture(logging.Handler):
    """Writes every ERROR (and worse) record as a ``log`` event."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(logging.ERROR)
        self.recorder = recorder

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001
            message = str(record.msg)
        self.recorder.emit(LOG, nodeid=self.recorder.nodeid, phase=self.recorder.phase, logger=record.name,
                           level=record.levelname, message=mask(message)[:MAX_MESSAGE],
                           error_type=type_name(type(exc)) if exc else None,
                           error_message=mask(str(exc))[:MAX_MESSAGE] if exc else None)


def capture_error_logs(recorder: Recorder) -> Callable[[], None]:
    """Attach a :class:`LogCapture` to the root logger; returns its removal."""
    handler = LogCapture(recorder)
    logging.getLogger().addHandler(handler)
    return lambda: logging.getLogger().removeHandler(handler)
