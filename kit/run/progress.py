"""Progress of long work, the way each place expects it: a live bar in a notebook, a line per step in a terminal.

A notebook cell that runs the catalogue should show one bar that fills (tqdm's ``auto`` front end, the
ecosystem's convention) rather than a wall of lines, and never text on stderr (JupyterLab paints it as an
error box). A terminal gets one line per finished step on stderr, so that stdout stays for results
(``--json -``). Which one is decided by where kit runs, not by the caller.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

__all__ = ["Progress", "in_notebook"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where ``tqdm.auto`` draws a widget or an HTML bar)."""
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:  # noqa: BLE001 - an unusual IPython: behave as a terminal
        return False


class Progress:
    """``total`` steps of work called ``what``; call :meth:`step` once per finished step, then :meth:`close`."""

    def __init__(self, total: int, what: str, *, notebook: bool | None = None) -> None:
        self.total, self.done = total, 0
        self._lock = threading.Lock()
        self._bar: Any = None
        if in_notebook() if notebook is None else notebook:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=what, unit="step", leave=True, dynamic_ncols=True)

    def step(self, line: str, status: str = "") -> None:
        """One step finished: ``line`` is its terminal line, ``status`` a short note for the bar."""
        with self._lock:
            self.done += 1
            if self._bar is not None:
                if status:
                    self._bar.set_postfix_str(status, refresh=False)
                self._bar.update(1)
            else:
                print(line, file=sys.stderr, flush=True)

    def note(self, line: str) -> None:
        """A line that is not a finished step (an environment being built): the bar's note, or a line."""
        with self._lock:
            if self._bar is not None:
                self._bar.set_postfix_str(line[:60])
            else:
                print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
