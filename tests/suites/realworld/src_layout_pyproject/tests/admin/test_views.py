import pytest

from adminkit import ModelAdmin


async def test_first_page_and_page_count(session, customers):
    admin = ModelAdmin(customers, ordering="name", per_page=10)
    page = await admin.page(session)
    assert (page.total, page.pages, len(page.items)) == (26, 3, 10)
    assert page.items[0].name == "Customer 01"


async def test_last_page_is_short(session, customers):
    page = await ModelAdmin(customers, per_page=10).page(session, page=3)
    assert len(page.items) == 6


async def test_search_is_case_insensitive_over_fields(session, customers):
    admin = ModelAdmin(customers, search=("name", "email"))
    assert [c.email for c in (await admin.page(session, query="NAVY")).items] == ["grace@navy.example"]


async def test_update_commits(session, customers):
    admin = ModelAdmin(customers, search=("email",))
    [grace] = (await admin.page(session, query="grace")).items
    await admin.update(session, grace.id, name="Rear Admiral Grace Hopper")
    assert (await admin.page(session, query="grace")).items[0].name.startswith("Rear Admiral")


async def test_update_of_a_missing_row(session, customers):
    with pytest.raises(LookupError):
        await ModelAdmin(customers).update(session, 10_000, name="nobody")
