"""Unit of work for SQLAlchemy's asyncio ORM: commit on success, roll back on error, savepoints in between."""

from uow.core import UnitOfWork
from uow.sync import ImportResult, import_skus

__all__ = ["UnitOfWork", "ImportResult", "import_skus"]
