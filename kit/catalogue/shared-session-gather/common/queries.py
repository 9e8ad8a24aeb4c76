from sqlalchemy import func, select

from scenario_db import User

TOTAL = select(func.count()).select_from(User)
EXAMPLE_DOMAIN = TOTAL.where(User.email.like("%@example.com"))
