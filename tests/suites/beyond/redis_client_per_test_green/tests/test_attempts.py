async def test_a_failure_is_counted(client):
    response = await client.post("/attempts", json={"username": "ada", "ok": False})
    assert response.json() == {"locked": False, "failures": 1}


async def test_success_resets_the_counter(client):
    for _ in range(2):
        await client.post("/attempts", json={"username": "bob", "ok": False})
    await client.post("/attempts", json={"username": "bob", "ok": True})
    assert (await client.get("/attempts/bob")).json() == {"failures": 0}


async def test_fourth_failure_locks_the_account(client):
    codes = [(await client.post("/attempts", json={"username": "cy", "ok": False})).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 423]


async def test_unknown_user_has_no_failures(client):
    assert (await client.get("/attempts/nobody")).json() == {"failures": 0}
