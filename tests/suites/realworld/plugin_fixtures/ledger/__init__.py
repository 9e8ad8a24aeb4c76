"""A tiny double-entry ledger on SQLAlchemy's asyncio ORM."""

from ledger.models import Account, Base, Posting
from ledger.service import InsufficientFunds, balance, open_account, transfer

__all__ = ["Account", "Base", "Posting", "InsufficientFunds", "balance", "open_account", "transfer"]
