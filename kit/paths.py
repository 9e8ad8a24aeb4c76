"""Where kit keeps its state (server, secret), its records and its reports.

State defaults to ``$XDG_STATE_HOME/kit`` (``~/.local/state/kit``); ``KIT_STATE_DIR`` overrides it, which
is how tests and concurrent users get isolated servers. Records default to ``./data`` and reports to
``./reports`` so that a clone of this repository keeps them beside the notebooks.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["state_dir", "data_dir", "reports_dir"]


def state_dir() -> Path:
    explicit = os.environ.get("KIT_STATE_DIR")
    if explicit:
        path = Path(explicit).expanduser()
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        path = Path(base) / "kit"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def data_dir() -> Path:
    return Path(os.environ.get("KIT_DATA_DIR") or "data").expanduser()


def reports_dir() -> Path:
    return Path(os.environ.get("KIT_REPORTS_DIR") or "reports").expanduser()
