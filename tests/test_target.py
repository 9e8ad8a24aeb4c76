"""Resolving the target, masking secrets, and refusing to touch databases that are not test databases."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from kit.common.aio import run_sync
from kit.common.masking import mask_text, mask_url
from kit.db.target import Target, connect, create_database, drop_database, resolve_target, scratch_database
from kit.errors import TargetError, UnsafeTargetError


def test_urls_are_printed_with_their_password_masked():
    assert mask_url("postgresql+asyncpg://app:s3cr3t@db:5432/app_test") == "postgresql+asyncpg://app:***@db:5432/app_test"
    assert "s3cr3t" not in mask_text("connect failed: password=s3cr3t host=db")
    # an "@" left unencoded inside the password must not leave its tail showing
    assert mask_url("redis://:s3@cr3t@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert mask_text("url='postgresql://app:p@ss@db/app_test'") == "url='postgresql://app:***@db/app_test'"


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


def _databases_named(target: Target, name: str) -> list[str]:
    """The databases called ``name`` on the target's server, asked over a connection of its own."""
    async def query() -> list[str]:
        conn = await connect(target)
        try:
            return [row["datname"] for row in await conn.fetch("select datname from pg_database where datname = $1",
                                                               name)]
        finally:
            await conn.close()

    return run_sync(query())


def test_a_scratch_database_exists_on_the_server_while_in_use_and_is_dropped_afterwards(target):
    with scratch_database(target, "lifecycle") as scratch:
        name = scratch.database
        assert name.startswith("kit_test_lifecycle_") and name != target.database
        assert _databases_named(target, name) == [name]  # really created, seen from another connection

        async def inside() -> str:  # and usable: the URL kit hands a run reaches that very database
            conn = await connect(scratch)
            try:
                await conn.execute("create table t (x int)")
                return await conn.fetchval("select current_database()")
            finally:
                await conn.close()

        assert run_sync(inside()) == name
    assert _databases_named(target, name) == []  # really dropped


def test_a_scratch_database_is_dropped_even_when_the_run_fails_and_left_a_connection_open(target):
    loop = asyncio.new_event_loop()  # a loop of its own keeps the connection alive past the block
    try:
        with pytest.raises(RuntimeError, match="the run failed"):
            with scratch_database(target, "failing") as scratch:
                name = scratch.database
                left_open = loop.run_until_complete(connect(scratch))  # a backend the run left behind
                assert _databases_named(target, name) == [name]
                raise RuntimeError("the run failed")
        assert _databases_named(target, name) == []  # dropped all the same...
        with pytest.raises(asyncpg.PostgresConnectionError, match="administrator command"):  # ...WITH (FORCE):
            loop.run_until_complete(left_open.fetchval("select 1"))                       # its backend was ended
        left_open.terminate()
        loop.run_until_complete(asyncio.sleep(0))  # let the aborted transport close its socket
    finally:
        loop.close()
