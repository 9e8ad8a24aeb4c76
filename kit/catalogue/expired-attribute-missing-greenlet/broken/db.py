from scenario_db import DATABASE_URL
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine(DATABASE_URL)
# Default expire_on_commit=True: commit() expires every loaded attribute, and reading one afterwards
# needs a lazy SELECT, which AsyncSession cannot run implicitly from plain attribute access.
Session = async_sessionmaker(engine)
