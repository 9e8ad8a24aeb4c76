# The ledger's own fixtures, the same ones downstream projects load with `-p ledger.testing`.
pytest_plugins = ["ledger.testing"]
