from scenario_db import DATABASE_URL
from sqlalchemy.ext.asyncio import create_async_engine

# pool_pre_ping tests each connection on checkout and silently replaces a dead one.
engine = create_async_engine(DATABASE_URL, pool_pre_ping=True)
