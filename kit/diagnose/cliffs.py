"""Where a cliff is: the release lines that matter, the one a rule breaks on, and the matrix cells that show it.

Why a module of its own: every rule of the upgrade advisor (:mod:`kit.diagnose.advisor`) asks the same three
questions of a version range, whatever the package: is the installed version inside it (broken now), which release
line above it is the first inside it that the project's requirements still admit (breaks on upgrade), and which
stored ``kit matrix`` cells show the cliff on this machine. The answers depend only on versions and cells, never
on the suite's source, so they live apart from the rules that read the source.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from kit.common.text import one_line, short_type

if TYPE_CHECKING:
    from packaging.version import Version

    from kit.catalogue.cells import MatrixCell

__all__ = ["LINES", "parse_version", "matrix_rows", "cite", "matrix_evidence", "next_line", "status"]

# Versions at which behaviour changes, besides those a matrix run used: the "next release line" is the first
# of these above what is installed and inside the rule's range.
LINES = {
    "pytest-asyncio": ("0.21.2", "0.23.8", "0.24.0", "0.25.3", "0.26.0", "1.0.0", "1.5.0"),
    "sqlalchemy": ("2.0.58", "2.1.0", "2.1.9"),
    "httpx": ("0.27.2", "0.28.0"),
    # 5.0.0: from_url's client closes its pool; 5.0.1: aclose() arrives and close() warns; 8.1.0: still so
    "redis": ("4.6.0", "5.0.0", "5.0.1", "8.1.0"),
}


def parse_version(text: str | None) -> Version | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(str(text)) if text else None
    except InvalidVersion:
        return None


def _ordinal(text: str) -> float:
    version = parse_version(text)
    return sum(part / 1000 ** i for i, part in enumerate(version.release)) if version else 0.0


def matrix_rows(matrix_results: Iterable[MatrixCell | dict] | None) -> list[dict]:
    """Matrix results as plain dicts (MatrixCell objects, their as_dict(), or the --json file's rows)."""
    rows = []
    for cell in matrix_results or []:
        rows.append(cell if isinstance(cell, dict) else cell.as_dict())
    return rows


def cite(row: dict) -> str:
    error = short_type(row.get("first_error_type"))
    message = (row.get("first_error_message") or "").strip().splitlines()
    tail = f" ({error}: {one_line(message[0], 90)})" if error and message and row.get("outcome") != "passed" else (
        f" ({error})" if error and row.get("outcome") != "passed" else "")
    return (f"{row['scenario']}/{row['variant']} @ pytest-asyncio {row['pytest_asyncio']} + SQLAlchemy "
            f"{row['sqlalchemy']}: {row['outcome']}{tail}")


def matrix_evidence(rows: list[dict], scenario: str, variant: str, spec: str | None,
                    versions_now: dict) -> list[str]:
    """Two cells that show the cliff: one at the installed line (or before the cliff) and one past it."""
    from packaging.specifiers import SpecifierSet

    chosen = [r for r in rows if r.get("scenario") == scenario and r.get("variant") == variant]
    if not chosen:
        return []
    specifier = SpecifierSet(spec) if spec else None
    inside = [r for r in chosen if specifier is None or specifier.contains(r["pytest_asyncio"], prereleases=True)]
    outside = [r for r in chosen if r not in inside]
    sa_now = parse_version(versions_now.get("sqlalchemy"))

    def other_sqlalchemy(row: dict) -> int:
        sa = parse_version(row.get("sqlalchemy"))
        return 0 if sa_now is None or (sa is not None and sa.release[:2] == sa_now.release[:2]) else 1

    # past the cliff: the earliest version that breaks; before it: the latest that does not
    first_in = sorted(inside, key=lambda r: (other_sqlalchemy(r), parse_version(r["pytest_asyncio"])))[:1]
    last_out = sorted(outside, key=lambda r: (other_sqlalchemy(r), -_ordinal(r["pytest_asyncio"])))[:1]
    return [cite(r) for r in last_out + first_in]


def next_line(package: str, installed, spec: str, extra: list[str], admits: str | None = None) -> str | None:
    """The first release (known to kit or the matrix) above ``installed`` that falls in ``spec`` and, when
    given, in ``admits`` (what the project's requirements allow)."""
    from packaging.specifiers import SpecifierSet

    specifier = SpecifierSet(spec) & SpecifierSet(admits or "")
    candidates = sorted({v for v in (*LINES.get(package, ()), *extra) if parse_version(v)}, key=parse_version)
    for candidate in candidates:
        if (installed is None or parse_version(candidate) > installed) and specifier.contains(candidate,
                                                                                                prereleases=True):
            return candidate
    return None


def status(package: str, versions: dict, spec: str, extra: list[str],
           admits: str | None = None) -> tuple[str, str] | None:
    """("broken-now" | "breaks-on-upgrade", "<package> <version>") for a rule breaking on ``spec``, or None.

    The installed version is the ground truth for "broken now"; an upgrade only reaches a line ``admits`` allows
    (None: the requirements do not constrain ``package``)."""
    from packaging.specifiers import SpecifierSet

    installed = parse_version(versions.get(package))
    if installed is not None and SpecifierSet(spec).contains(installed, prereleases=True):
        return "broken-now", f"{package} {installed} (installed)"
    upcoming = next_line(package, installed, spec, extra, admits)
    return ("breaks-on-upgrade", f"{package} {upcoming}") if upcoming else None
