"""Progress of long work, the way each place expects it: a live bar in a notebook, a line per step in a terminal.

A notebook cell that runs the catalogue shows one bar that fills, updated in place, never a wall of lines
and never text on stderr (JupyterLab paints stderr as an error box). The bar is plain HTML updated through
IPython's display handles: tqdm's notebook front end needs ipywidgets, and a widget in an exported report
needs its manager script from a CDN, which kit's offline reports must never fetch. In a terminal each
finished step is one line on stderr, so that stdout stays for results (``--json -``).
"""

from __future__ import annotations

import html
import sys
import threading
from typing import Any

__all__ = ["Progress", "in_notebook"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    try:
        return ipython is not None and type(ipython.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:  # noqa: BLE001 - an unusual IPython: behave as a terminal
        return False


class Progress:
    """``total`` steps of work called ``what``; call :meth:`step` once per finished step, then :meth:`close`."""

    def __init__(self, total: int, what: str, *, notebook: bool | None = None) -> None:
        self.total, self.done, self.what, self.status = total, 0, what, ""
        self._lock = threading.Lock()
        self._handle: Any = None
        if in_notebook() if notebook is None else notebook:
            from IPython.display import HTML, display

            self._html = HTML
            self._handle = display(HTML(self._bar()), display_id=True)

    def _bar(self) -> str:
        return (f"<div style='font-family:system-ui,sans-serif;font-size:.9em'>{html.escape(self.what)} "
                f"<progress value='{self.done}' max='{max(self.total, 1)}' style='width:16em;vertical-align:middle'>"
                f"</progress> {self.done}/{self.total} <span style='color:#57606a'>{html.escape(self.status)}</span>"
                "</div>")

    def _show(self) -> None:
        self._handle.update(self._html(self._bar()))

    def step(self, line: str, status: str = "") -> None:
        """One step finished: ``line`` is its terminal line, ``status`` a short note for the bar."""
        with self._lock:
            self.done += 1
            if self._handle is not None:
                self.status = status
                self._show()
            else:
                print(line, file=sys.stderr, flush=True)

    def note(self, line: str) -> None:
        """A line that is not a finished step (an environment being built): the bar's note, or a line."""
        with self._lock:
            if self._handle is not None:
                self.status = line.strip()[:80]
                self._show()
            else:
                print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._handle is not None:
            with self._lock:
                self.status = "done"
                self._show()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
