def with_tax(cents: int) -> int:
    return round(cents * 1.2)
