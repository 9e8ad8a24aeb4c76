"""A tiny shop: products and orders on PostgreSQL."""
