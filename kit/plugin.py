"""``pytest -p kit.plugin``: the name users and the ``pytest11`` entry point know kit's recorder by.

The recorder itself lives in :mod:`kit.recorder`; this module only hands pytest its hooks, so that the
public name stays stable whatever the package layout.
"""

from kit.recorder.plugin import pytest_addoption, pytest_configure

__all__ = ["pytest_addoption", "pytest_configure"]
