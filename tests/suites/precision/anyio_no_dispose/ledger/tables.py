from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Integer, MetaData, String, Table

metadata = MetaData()

accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(80), nullable=False, unique=True),
    Column("cents", BigInteger, nullable=False, default=0),
    CheckConstraint("cents >= 0", name="no_overdraft"),
)

transfers = Table(
    "transfers", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", ForeignKey("accounts.id"), nullable=False),
    Column("target", ForeignKey("accounts.id"), nullable=False),
    Column("cents", BigInteger, nullable=False),
)
