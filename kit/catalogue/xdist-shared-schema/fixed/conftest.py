import pytest_asyncio
from scenario_db import SHARED_DATABASE_URL, Base
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(worker_id):
    # A database of its own for each pytest-xdist worker: "<database>_gw0", "<database>_gw1", ... ("_master" when
    # run without xdist), made on the server of the URL every worker is given. The database user needs CREATEDB.
    url = make_url(SHARED_DATABASE_URL)
    name = f"{url.database}_{worker_id}"
    # CREATE / DROP DATABASE cannot run inside a transaction: an AUTOCOMMIT connection to the given database.
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')  # left over from a killed run
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    engine = create_async_engine(url.set(database=name))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()  # close this worker's pooled connections first: a database in use cannot be dropped
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f'DROP DATABASE "{name}"')
    await admin.dispose()


@pytest_asyncio.fixture
async def session(engine):
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session
