"""Resolving the target, masking secrets, and refusing to touch databases that are not test databases."""

from __future__ import annotations

import pytest

from kit.common.aio import run_sync
from kit.errors import TargetError, UnsafeTargetError
from kit.common.masking import mask_text, mask_url
from kit.db.target import Target, create_database, drop_database, resolve_target


def test_urls_are_printed_with_their_password_masked():
    assert mask_url("postgresql+asyncpg://app:s3cr3t@db:5432/app_test") == "postgresql+asyncpg://app:***@db:5432/app_test"
    assert "s3cr3t" not in mask_text("connect failed: password=s3cr3t host=db")


@pytest.mark.parametrize("glued", ["9x", "img/png;base64,iVBORw0KGgoAAA", "a+b.c-", ""])
def test_credentials_glued_to_other_characters_are_masked_too(glued):
    text = f"<p>{glued}postgresql+asyncpg://app:s3cr3t@db/app_test</p>"
    assert mask_text(text) == text.replace("s3cr3t", "***")


@pytest.mark.faults
@pytest.mark.parametrize("url, words", [
    ("mysql://u:p@h/app_test", "not a PostgreSQL URL"),
    ("postgresql://u:p@h:notaport/app_test", "malformed"),
    ("postgresql:///app_test", "names no host"),
])
def test_bad_urls_get_a_paragraph_not_a_traceback(url, words):
    with pytest.raises(TargetError, match=words) as info:
        resolve_target(url)
    assert ":p@" not in str(info.value)


def test_plain_postgres_urls_are_driven_through_asyncpg():
    assert resolve_target("postgres://u:pw12@h/app_test").url == "postgresql+asyncpg://u:pw12@h/app_test"


@pytest.mark.faults
def test_guard_refuses_to_create_or_drop_on_a_non_test_database(target):
    production = Target(target.url, "url").with_database("app")
    with pytest.raises(UnsafeTargetError, match="does not contain 'test'"):
        run_sync(create_database(production, "x"))
    with pytest.raises(UnsafeTargetError):
        run_sync(drop_database(production, production.with_database("kit_test_x")))


def test_guard_allows_test_databases_and_the_explicit_flag(target):
    as_url = Target(target.url, "url")  # the embedded server addressed by URL: database kit_test
    scratch = run_sync(create_database(as_url, "guard"))
    run_sync(drop_database(as_url, scratch))
    flagged = Target(target.url, "url", allow_any_database=True).with_database("postgres")
    scratch = run_sync(create_database(flagged, "guard"))
    run_sync(drop_database(flagged, scratch))


@pytest.mark.faults
def test_only_kit_scratch_databases_are_ever_dropped(target):
    with pytest.raises(UnsafeTargetError, match="only drops the scratch databases"):
        run_sync(drop_database(target, target.with_database("kit_test")))
