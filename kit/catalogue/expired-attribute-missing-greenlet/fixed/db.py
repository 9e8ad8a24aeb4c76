from scenario_db import DATABASE_URL
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine(DATABASE_URL)
# Objects keep their loaded values after commit(): no implicit lazy load, no MissingGreenlet.
Session = async_sessionmaker(engine, expire_on_commit=False)
