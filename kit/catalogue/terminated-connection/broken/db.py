from scenario_db import DATABASE_URL
from sqlalchemy.ext.asyncio import create_async_engine

# The pool hands out kept connections without checking they are still alive.
engine = create_async_engine(DATABASE_URL)
