"""Generic admin views over SQLAlchemy models."""

from adminkit.views import ModelAdmin, Page

__all__ = ["ModelAdmin", "Page"]
__version__ = "0.4.2"
