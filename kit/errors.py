"""One error class per failure family. Every message is a paragraph that says what to do.

The CLI prints ``str(error)`` for these and exits non-zero without a traceback: they are expected
failures of the user's environment or input, not bugs in kit.
"""

from __future__ import annotations

__all__ = [
    "KitError",
    "TargetError",
    "UnsafeTargetError",
    "EmbeddedServerError",
    "RecordsError",
    "ScenarioError",
    "NotebookError",
    "DiagnoseError",
    "MatrixError",
    "EnvironmentBuildError",
    "BrowserMissing",
    "ReportError",
]


class KitError(Exception):
    """Base class: an expected failure whose message tells the user what to do."""

    exit_code = 2


class TargetError(KitError):
    """The database target is malformed, unreachable, or refuses us."""


class UnsafeTargetError(KitError):
    """A create/drop operation was about to touch a database that does not look like a test database."""


class EmbeddedServerError(KitError):
    """The embedded PostgreSQL server could not be initialised, started or stopped."""


class RecordsError(KitError):
    """The run-records store cannot be written or read."""


class ScenarioError(KitError):
    """An unknown catalogue entry, stage or variant was asked for."""


class NotebookError(KitError):
    """A notebook could not be executed or rendered."""


class DiagnoseError(KitError):
    """The suite cannot be diagnosed: missing path, no tests, or pytest could not even collect it."""


class MatrixError(KitError):
    """Bad input to ``kit matrix``: an unparsable version, or no runnable entry chosen."""


class EnvironmentBuildError(KitError):
    """A version environment could not be created or installed (offline, or a version that does not exist)."""


class BrowserMissing(KitError):
    """No usable Chromium (or Playwright) for the screenshot tool and the browser tests."""


class ReportError(KitError):
    """A rendered report is missing, or would not open offline."""


class RedisError(KitError):
    """The embedded Redis could not be started, or the Redis at REDIS_URL is malformed, unreachable or refuses us."""


__all__ += ["RedisError"]


class FixError(KitError):
    """`kit fix --apply` could not write its patch safely (a file changed meanwhile), or `--patch` could not be
    written."""


__all__ += ["FixError"]
