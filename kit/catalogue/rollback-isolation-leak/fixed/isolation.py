from sqlalchemy.ext.asyncio import AsyncSession


def session_for_test(conn) -> AsyncSession:
    # Every commit() and rollback() the app makes now acts on a SAVEPOINT inside the test's
    # outer transaction, which only the fixture ends.
    return AsyncSession(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
