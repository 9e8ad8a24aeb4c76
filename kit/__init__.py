"""kit: reproduce, record and diagnose asyncio event-loop / SQLAlchemy AsyncSession conflicts in pytest suites.

The public surface is deliberately small; everything else lives in one-concept modules.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_ipython_extension"]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext kit``: the ``%%kit`` cell magic (:mod:`kit.magic`, imported only now: ``kit`` stays light)."""
    from kit.magic import load_ipython_extension as load

    load(ipython)
