"""Where kit keeps its state (server, secret), its records and its reports.

State defaults to ``$XDG_STATE_HOME/kit`` (``~/.local/state/kit``); ``KIT_STATE_DIR`` overrides it, which
is how tests and concurrent users get isolated servers. Records default to the checkout's ``data/``
(``KIT_DATA_DIR`` overrides it) so that notebooks, whatever their working directory, and the CLI append to
one store; reports default to ``./reports``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["state_dir", "data_dir", "reports_dir", "project_root", "notebooks_dir"]


def project_root() -> Path:
    """The kit checkout (where ``notebooks/`` lives) for an editable install, else the working directory."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "notebooks").is_dir() else Path.cwd()


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


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
    explicit = os.environ.get("KIT_DATA_DIR")
    return Path(explicit).expanduser().resolve() if explicit else project_root() / "data"


def reports_dir() -> Path:
    return Path(os.environ.get("KIT_REPORTS_DIR") or "reports").expanduser()
