"""kit: reproduce, record and diagnose asyncio event-loop / SQLAlchemy AsyncSession conflicts in pytest suites.

The public surface is deliberately small; everything else lives in one-concept modules.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
