"""An append-only audit log for adminkit (or any async SQLAlchemy app)."""

from adminkit_audit.log import AuditBase, AuditEntry, history, record

__all__ = ["AuditBase", "AuditEntry", "history", "record"]
