import pytest
from pytest_dbguard.plugin import mask

INNER = """
import pytest


@pytest.mark.needs_db
def test_url_is_postgres(db_url):
    assert db_url.startswith("postgresql")


@pytest.mark.needs_db
def test_url_is_sqlite(db_url):
    assert db_url.startswith("sqlite"), "this one fails on purpose"
"""


def test_mask_hides_the_password():
    assert mask("postgresql://app:s3cret@db:5432/app") == "postgresql://app:***@db:5432/app"


def test_inner_outcomes_with_a_url(inner: pytest.Pytester):
    inner.makepyfile(test_inner=INNER)
    result = inner.runpytest("-p", "pytest_dbguard.plugin", "--db-url", "postgresql://u:p@h/db")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*this one fails on purpose*", "*1 failed, 1 passed*"])


def test_needs_db_skips_without_a_url(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    inner.makepyfile(test_inner=INNER)
    result = inner.runpytest("-p", "pytest_dbguard.plugin", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*needs a database*"])


def test_header_masks_the_password(inner: pytest.Pytester):
    inner.makepyfile("def test_nothing():\n    pass\n")
    result = inner.runpytest("-p", "pytest_dbguard.plugin", "--db-url", "postgresql://u:hunter2@h/db")
    result.stdout.fnmatch_lines(["dbguard: postgresql://u:***@h/db"])
    assert "hunter2" not in result.stdout.str()
