import pytest

from adminkit_audit import history, record

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_record_and_read_back(audit_session):
    await record(audit_session, "ada", "create", "User:1", name="Ada")
    await record(audit_session, "ada", "update", "User:1", name="Ada L.")
    entries = await history(audit_session, "User:1")
    assert [(e.action, e.changes) for e in entries] == [("create", {"name": "Ada"}), ("update", {"name": "Ada L."})]


async def test_history_is_per_target(audit_session):
    await record(audit_session, "bob", "delete", "Order:9")
    assert await history(audit_session, "User:1") == []


async def test_unknown_action_is_refused(audit_session):
    with pytest.raises(ValueError, match="unknown action"):
        await record(audit_session, "eve", "truncate", "User:*")
