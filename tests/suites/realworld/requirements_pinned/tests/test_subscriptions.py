import pytest
from newsletter.subscriptions import UnknownToken, confirm, mailing_list, subscribe, unsubscribe


@pytest.mark.asyncio(loop_scope="session")
async def test_pending_subscribers_get_no_mail(session):
    await subscribe(session, "Ada@Example.com")
    assert await mailing_list(session) == []


@pytest.mark.asyncio(loop_scope="session")
async def test_confirmed_subscriber_is_on_the_list(session):
    pending = await subscribe(session, "ada@example.com")
    await confirm(session, pending.token)
    assert await mailing_list(session) == ["ada@example.com"]


@pytest.mark.asyncio(loop_scope="session")
async def test_unsubscribe_then_subscribe_again_needs_a_new_confirmation(session):
    first = await subscribe(session, "bob@example.com")
    await confirm(session, first.token)
    old_token = first.token
    await unsubscribe(session, old_token)
    again = await subscribe(session, "bob@example.com")
    assert again.token != old_token and not again.active


@pytest.mark.asyncio(loop_scope="session")
async def test_unknown_token(session):
    with pytest.raises(UnknownToken):
        await confirm(session, "not-a-token")


@pytest.mark.asyncio(loop_scope="session")
async def test_each_test_starts_with_no_subscribers(session):
    assert await mailing_list(session) == [] and (await subscribe(session, "c@example.com")).id == 1
