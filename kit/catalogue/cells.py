"""Matrix cells: one variant of one entry in one version environment, judged; their records, and reading
them back.

Reading stored cells needs neither the environment builder (:mod:`kit.catalogue.envs`) nor the runner:
``kit diagnose``'s upgrade advisor imports this module to cite the latest ``kit matrix`` run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from kit.run.records import RunRecord, iter_records

__all__ = ["MatrixCell", "cell_record", "cells_frame", "load_matrix_cells"]


@dataclass
class MatrixCell:
    """One variant of one entry in one environment, judged against what its entry declares there."""

    scenario: str
    variant: str
    pytest_asyncio: str
    sqlalchemy: str
    outcome: str
    first_error_type: str | None
    first_error_message: str | None
    duration_s: float
    expected: str                 # symptom | passed | fails (see judge.expected_for)
    as_declared: bool
    reason: str | None = None     # the entry's [versions] reason when a declaration applied
    reproduced: bool = False      # broken: its symptom showed; fixed: every test passed
    tests_passed: int = 0
    tests_failed: int = 0
    tests_errored: int = 0
    env: str = ""
    versions: dict = field(default_factory=dict)

    @property
    def cite(self) -> str:
        """How the advisor and the notebook name this cell."""
        return (f"{self.scenario}/{self.variant} @ pytest-asyncio {self.pytest_asyncio} + "
                f"SQLAlchemy {self.sqlalchemy}: {self.outcome}"
                + (f" ({(self.first_error_type or '').rsplit('.', 1)[-1]})" if self.first_error_type else ""))

    def as_dict(self) -> dict:
        return asdict(self)


def cell_record(cell: MatrixCell, target_kind: str | None, run_id: str) -> RunRecord:
    """The ``matrix`` record of one cell: what :func:`load_matrix_cells` reads back."""
    return RunRecord(
        "matrix", cell.scenario, cell.outcome, variant=cell.variant, error_type=cell.first_error_type,
        error_message=cell.first_error_message, duration_s=cell.duration_s, versions=cell.versions,
        target_kind=target_kind, run_id=run_id,
        details={"pytest_asyncio": cell.pytest_asyncio, "sqlalchemy": cell.sqlalchemy, "expected": cell.expected,
                 "as_declared": cell.as_declared, "reason": cell.reason, "reproduced": cell.reproduced,
                 "passed": cell.tests_passed, "failed": cell.tests_failed, "errored": cell.tests_errored,
                 "env": cell.env})


def cells_frame(cells: list[MatrixCell]):
    """The cells as a DataFrame, one row per cell (the JSON fields as columns)."""
    import pandas as pd

    rows = [{k: v for k, v in c.as_dict().items() if k != "versions"} for c in cells]
    return pd.DataFrame.from_records(rows)


def load_matrix_cells(run_id: str | None = None, path: Path | None = None) -> list[MatrixCell]:
    """The cells of a recorded matrix run (the latest by default), rebuilt from the records store."""
    rows = iter_records("matrix", path)
    if not rows:
        return []
    run_id = run_id or max(rows, key=lambda r: r.get("timestamp") or "")["run_id"]
    cells = []
    for row in (r for r in rows if r.get("run_id") == run_id):
        d = row.get("details") if isinstance(row.get("details"), dict) else {}
        cells.append(MatrixCell(row["subject"], row.get("variant"), d.get("pytest_asyncio"), d.get("sqlalchemy"),
                                row["outcome"], row.get("error_type"), row.get("error_message"),
                                row.get("duration_s", 0.0), d.get("expected", "symptom"), bool(d.get("as_declared")),
                                d.get("reason"), bool(d.get("reproduced")), d.get("passed", 0), d.get("failed", 0),
                                d.get("errored", 0), d.get("env", ""),
                                row.get("versions") if isinstance(row.get("versions"), dict) else {}))
    return cells
