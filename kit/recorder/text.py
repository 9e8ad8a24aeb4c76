"""Text as the recorder writes it: secrets masked out, messages cut to a bounded length.

A record file is shared (pasted into issues, rendered into reports), and an exception message or a logged
statement can carry the database URL or its password: everything free-form the recorder writes goes
through :func:`mask` first, and :data:`MAX_MESSAGE` keeps one runaway message from bloating the file.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from kit.common.masking import mask_text, register_secret  # stdlib only: safe in any environment

__all__ = ["MAX_MESSAGE", "mask", "register_database_secret"]

MAX_MESSAGE = 2000


def mask(text: str) -> str:
    """``text`` with every known secret and URL credential masked (never None, so callers can slice it)."""
    return mask_text(text) or ""


def register_database_secret() -> None:
    """The run's DATABASE_URL password is masked wherever it appears, not only inside URLs."""
    password = urlsplit(os.environ.get("DATABASE_URL", "")).password
    register_secret(unquote(password) if password else None)
