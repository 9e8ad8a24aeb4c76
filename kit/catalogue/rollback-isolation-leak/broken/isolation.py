from sqlalchemy.ext.asyncio import AsyncSession


def session_for_test(conn) -> AsyncSession:
    # Default join_transaction_mode ("conservative_savepoint"): the app's commit() leaves the test's
    # outer transaction alone, but its rollback() rolls that outer transaction back for real.
    return AsyncSession(bind=conn, expire_on_commit=False)
