from sqlalchemy.ext.asyncio import create_async_engine

from scenario_db import DATABASE_URL

# The pool hands out kept connections without checking they are still alive.
engine = create_async_engine(DATABASE_URL)
